/**
 * Host CPU flags as Linux names them (/proc/cpuinfo) → the feature names libvirt uses (cpu_map/x86_features.xml).
 *
 * Most names are equal. For the others, in this order:
 *   1. the canonical libvirt name itself ("avx2");
 *   2. an alias cpu_map records for the feature (source 'linux' or 'qemu': "sse4_1" → "sse4.1", "md_clear" →
 *      "md-clear", "lahf_lm", "pclmulqdq" → "pclmuldq");
 *   3. the Linux name with '_' read as '-' ("sha_ni" → "sha-ni", "avx512_bf16" → "avx512-bf16");
 *   4. LINUX_NAMES below: Linux spellings cpu_map does not record (checked against the map; dropped if absent).
 * Linux flags with no libvirt feature (synthetic ones such as "constant_tsc", "pti", "rep_good") are dropped, and so
 * are AMBIGUOUS ones whose Linux meaning is not one CPUID bit.
 */
import type { X86CpuMap } from './cpu-map';

/** Linux /proc/cpuinfo names whose libvirt feature cpu_map does not list as an alias. */
const LINUX_NAMES: Readonly<Record<string, string>> = {
  tsc_deadline_timer: 'tsc-deadline', // CPUID 1 ECX[24]
  cr8_legacy: 'cr8legacy', // CPUID 0x80000001 ECX[4]
  avx512_vbmi2: 'avx512vbmi2', // CPUID 7 ECX[6]
  avx512_vnni: 'avx512vnni', // CPUID 7 ECX[11]
  avx512_bitalg: 'avx512bitalg', // CPUID 7 ECX[12]
  pausefilter: 'pause-filter', // CPUID 0x8000000A EDX[10]
  amd_stibp: 'amd-stibp', // CPUID 0x80000008 EBX[15]
  tsxldtrk: 'tsx-ldtrk', // CPUID 7 EDX[16]
  sgx_lc: 'sgxlc', // CPUID 7 ECX[30]
};

/**
 * Linux flags that Linux synthesises from either vendor's bits (arch/x86/include/asm/cpufeatures.h word 7:
 * X86_FEATURE_IBRS, X86_FEATURE_IBPB, X86_FEATURE_SSBD; X86_FEATURE_STIBP is also set from AMD's bit), while
 * libvirt's features of the same names are one vendor's CPUID bit each ("ibrs"/"ibpb" AMD 0x80000008 EBX, "ssbd"
 * and "stibp" Intel 7 EDX[31] and EDX[27]). Reporting them could claim a bit the CPU does not have, so they are
 * left out.
 */
const AMBIGUOUS = new Set(['ibrs', 'ibpb', 'ssbd', 'stibp']);

/** Index of every name cpu_map knows (canonical and aliases) → canonical name. */
function nameIndex(map: X86CpuMap): Map<string, string> {
  const index = new Map<string, string>();
  for (const feature of map.features.values()) {
    for (const alias of feature.aliases) if (!index.has(alias)) index.set(alias, feature.name);
  }
  // Canonical names win over any alias spelled the same.
  for (const name of map.features.keys()) index.set(name, name);
  return index;
}

const indexes = new WeakMap<X86CpuMap, Map<string, string>>();

/** The libvirt feature a Linux flag names, or undefined when libvirt has none (or the flag is ambiguous). */
export function libvirtFeatureName(linuxFlag: string, map: X86CpuMap): string | undefined {
  if (AMBIGUOUS.has(linuxFlag)) return undefined;
  let index = indexes.get(map);
  if (!index) indexes.set(map, (index = nameIndex(map)));
  const explicit = LINUX_NAMES[linuxFlag];
  return (
    index.get(linuxFlag) ??
    index.get(linuxFlag.replace(/_/g, '-')) ??
    (explicit !== undefined && map.features.has(explicit) ? explicit : undefined)
  );
}

/** The host's libvirt features (canonical names, in the order of the Linux flags, each once). */
export function libvirtFeatures(linuxFlags: readonly string[], map: X86CpuMap): string[] {
  const names = new Set<string>();
  for (const flag of linuxFlags) {
    const name = libvirtFeatureName(flag, map);
    if (name !== undefined) names.add(name);
  }
  return [...names];
}
