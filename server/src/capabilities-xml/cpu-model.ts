/**
 * The libvirt CPU model closest to the host CPU, chosen the way libvirt chooses the <model> of its own host
 * capabilities (src/cpu/cpu_x86.c, x86Decode/x86DecodeUseCandidate, for a CPU of type "host"):
 *   1. walk cpu_map's models from last to first;
 *   2. skip a model marked <decode host='off'>, or one of another vendor (vendor-neutral models stay);
 *   3. skip a model with any feature the host lacks (a host CPU is never described with disabled features);
 *   4. a model made for the host's family/model(/stepping) beats one that is not; among equals, the model leaving
 *      fewer host features to list separately wins; on a tie the model met first (the later one in cpu_map) stays.
 * The host CPU is then the model plus the listed extra features — the same meaning libvirt gives its <cpu>.
 * Not reproduced: libvirt's TSX filter for some Haswell/Broadwell steppings, and features libvirt reads from MSRs
 * (Linux does not list those as flags).
 */
import type { CpuMapModel, CpuMapSignature, X86CpuMap } from './cpu-map';

export interface HostCpuModel {
  /** The libvirt model name. */
  model: string;
  /** Host features not in the model, in the order given. */
  extraFeatures: string[];
}

export interface HostCpuIdentity {
  /** CPUID vendor string ("AuthenticAMD"). */
  vendorString: string;
  family: number;
  model: number;
  stepping: number;
  /** libvirt (canonical) feature names of the host. */
  features: readonly string[];
}

/** libvirt's vendor name for a CPUID vendor string ("AuthenticAMD" → "AMD"), or undefined when unknown. */
export function libvirtVendorName(vendorString: string, map: X86CpuMap): string | undefined {
  for (const [name, cpuid] of map.vendors) if (cpuid === vendorString) return name;
  return undefined;
}

function hasSignature(model: CpuMapModel, cpu: HostCpuIdentity): boolean {
  return model.signatures.some(
    (s: CpuMapSignature) =>
      s.family === cpu.family &&
      s.model === cpu.model &&
      (s.steppings === undefined || (cpu.stepping >= s.steppings[0] && cpu.stepping <= s.steppings[1])),
  );
}

/** The closest model and the features left over, or undefined when no model fits (then report features only). */
export function decodeHostCpuModel(cpu: HostCpuIdentity, map: X86CpuMap): HostCpuModel | undefined {
  const vendor = libvirtVendorName(cpu.vendorString, map);
  const host = new Set(cpu.features);
  let best: { model: CpuMapModel; extra: string[]; signature: boolean } | undefined;
  for (let i = map.models.length - 1; i >= 0; i--) {
    const model = map.models[i]!;
    if (!model.decodeHost) continue;
    if (model.vendor !== undefined && vendor !== undefined && model.vendor !== vendor) continue;
    // libvirt compares vendors only when both are known; a model of a vendor the host is not cannot describe it.
    if (model.vendor !== undefined && vendor === undefined) continue;
    if (!model.features.every((f) => host.has(f))) continue;
    const inModel = new Set(model.features);
    const candidate = { model, extra: cpu.features.filter((f) => !inModel.has(f)), signature: hasSignature(model, cpu) };
    if (best === undefined) best = candidate;
    else if (best.signature !== candidate.signature) {
      if (candidate.signature) best = candidate;
    } else if (best.extra.length > candidate.extra.length) best = candidate;
  }
  return best && { model: best.model.name, extraFeatures: best.extra };
}
