/**
 * The guest's CPUID, from what KVM_GET_SUPPORTED_CPUID says this host and kernel can offer (the shape of
 * Firecracker's and Cloud Hypervisor's normalisation). Steps, in order:
 *   1. drop entries past the maximum basic or extended leaf the table itself declares, and hypervisor leaves other
 *      than 0x40000000/0x40000001 (the guest only sees leaves the table is consistent about);
 *   2. leaf 0x1: the vCPU's initial APIC id, the logical processor count, HTT when there is more than one vCPU,
 *      the hypervisor bit, and TSC-deadline exactly when the in-kernel LAPIC offers it (KVM's table leaves it out);
 *   3. leaf 0x4 (Intel caches): one core per vCPU, one thread per core; L3 shared by the whole package;
 *   4. leaves 0xB and 0x1F (extended topology): an SMT level of 1 thread and a core level of vcpuCount, with the
 *      vCPU's x2APIC id in EDX of every subleaf, terminated by an invalid level;
 *   5. leaf 0x6: no turbo boost or energy-performance bias (the guest cannot drive them); leaf 0xA: no PMU;
 *   6. AMD: 0x80000008 ECX core count and APIC id size, 0x8000001E extended APIC id, one core per compute unit;
 *   7. leaf 0x40000000: the hypervisor signature ("KVMKVMKVM" by default, so Linux uses KVM's paravirt leaves)
 *      and the highest hypervisor leaf.
 */
import { KVM_CPUID_ENTRY2, KVM_CPUID_ENTRY2_SIZE, KVM_CPUID_FLAG_SIGNIFCANT_INDEX } from './kvm-abi';

/** One kvm_cpuid_entry2. */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export interface CpuidFilterOptions {
  /** This vCPU's index, also its APIC id. */
  vcpuId: number;
  /** vCPUs in the domain (one package, one thread per core). */
  vcpuCount: number;
  /** 12-byte hypervisor signature in leaf 0x40000000 (shorter is NUL padded). */
  hypervisorSignature?: string;
  /** Offer the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER with an in-kernel LAPIC); otherwise it is hidden. */
  tscDeadline?: boolean;
}

/** Leaf 0: maximum basic leaf in EAX, vendor string in EBX, EDX, ECX. */
export const LEAF_VENDOR = 0x0;
/** Leaf 1: version and feature information. */
export const LEAF_FEATURES = 0x1;
/** Leaf 4: Intel deterministic cache parameters. */
export const LEAF_CACHE_PARAMETERS = 0x4;
/** Leaf 6: thermal and power management. */
export const LEAF_POWER = 0x6;
/** Leaf 0xA: architectural performance monitoring. */
export const LEAF_PMU = 0xa;
/** Leaf 0xB: extended topology enumeration. */
export const LEAF_TOPOLOGY = 0xb;
/** Leaf 0x1F: V2 extended topology enumeration. */
export const LEAF_TOPOLOGY_V2 = 0x1f;
/** First hypervisor leaf: highest hypervisor leaf and signature. */
export const LEAF_HYPERVISOR = 0x4000_0000;
/** KVM's paravirtual feature leaf. */
export const LEAF_KVM_FEATURES = 0x4000_0001;
/** First extended leaf: maximum extended leaf in EAX. */
export const LEAF_EXTENDED = 0x8000_0000;
/** AMD: address sizes and core count. */
export const LEAF_AMD_ADDRESS_SIZES = 0x8000_0008;
/** AMD: extended APIC id, compute unit and node ids. */
export const LEAF_AMD_EXTENDED_APIC = 0x8000_001e;

/** Leaf 1 ECX bit 31: running under a hypervisor. */
export const ECX_HYPERVISOR = 1 << 31;
/** Leaf 1 ECX bit 24: TSC-deadline mode of the LAPIC timer. */
export const ECX_TSC_DEADLINE = 1 << 24;
/** Leaf 1 EDX bit 28: more than one logical processor per package (EBX[23:16] is valid). */
export const EDX_HTT = 1 << 28;
/** Leaf 6 EAX bit 1: Intel turbo boost. */
export const EAX_TURBO_BOOST = 1 << 1;
/** Leaf 6 ECX bit 3: energy-performance bias MSR. */
export const ECX_ENERGY_PERF_BIAS = 1 << 3;
/** Leaf 0xB/0x1F ECX[15:8] level types. */
export const TOPOLOGY_LEVEL_INVALID = 0;
export const TOPOLOGY_LEVEL_SMT = 1;
export const TOPOLOGY_LEVEL_CORE = 2;
/** Leaf 4 EAX[4:0] cache type 0: no more caches. */
const CACHE_TYPE_NULL = 0;
/** Leaf 4 EAX[7:5]: cache level; L3 and beyond are shared by the whole package. */
const CACHE_LEVEL_SHARED = 3;
/** Default hypervisor signature: KVM's, so guests find KVM's paravirtual features in 0x40000001. */
export const KVM_SIGNATURE = 'KVMKVMKVM';
/** Largest APIC id leaf 1 EBX can carry (8 bits; 0xff is the broadcast id). */
export const MAX_XAPIC_VCPUS = 254;

const VENDOR_AMD = 'AuthenticAMD';
const VENDOR_HYGON = 'HygonGenuine';

/** Decodes KVM_GET_SUPPORTED_CPUID's bytes (40 per entry). */
export function decodeCpuidEntries(bytes: Uint8Array): CpuidEntry[] {
  if (bytes.byteLength % KVM_CPUID_ENTRY2_SIZE !== 0) {
    throw new RangeError(`CPUID table of ${bytes.byteLength} bytes is not whole ${KVM_CPUID_ENTRY2_SIZE}-byte entries`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: CpuidEntry[] = [];
  for (let at = 0; at < bytes.byteLength; at += KVM_CPUID_ENTRY2_SIZE) {
    const u32 = (offset: number): number => v.getUint32(at + offset, true);
    entries.push({
      function: u32(KVM_CPUID_ENTRY2.function),
      index: u32(KVM_CPUID_ENTRY2.index),
      flags: u32(KVM_CPUID_ENTRY2.flags),
      eax: u32(KVM_CPUID_ENTRY2.eax),
      ebx: u32(KVM_CPUID_ENTRY2.ebx),
      ecx: u32(KVM_CPUID_ENTRY2.ecx),
      edx: u32(KVM_CPUID_ENTRY2.edx),
    });
  }
  return entries;
}

/** Encodes entries for KVM_SET_CPUID2. */
export function encodeCpuidEntries(entries: readonly CpuidEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * KVM_CPUID_ENTRY2_SIZE);
  const v = new DataView(bytes.buffer);
  entries.forEach((entry, i) => {
    const at = i * KVM_CPUID_ENTRY2_SIZE;
    for (const field of ['function', 'index', 'flags', 'eax', 'ebx', 'ecx', 'edx'] as const) {
      const value = entry[field];
      if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`CPUID ${field} ${value} is not a u32`);
      v.setUint32(at + KVM_CPUID_ENTRY2[field], value, true);
    }
  });
  return bytes;
}

/** The 12-byte vendor string of leaf 0 (EBX, EDX, ECX), or '' without leaf 0. */
export function cpuidVendor(entries: readonly CpuidEntry[]): string {
  const leaf0 = entries.find((e) => e.function === LEAF_VENDOR);
  return leaf0 === undefined ? '' : registersToString([leaf0.ebx, leaf0.edx, leaf0.ecx]);
}

function registersToString(registers: number[]): string {
  const bytes = new Uint8Array(registers.length * 4);
  const v = new DataView(bytes.buffer);
  registers.forEach((r, i) => v.setUint32(i * 4, r, true));
  return String.fromCharCode(...bytes).replace(/\0+$/, '');
}

/** EBX, ECX, EDX of a 12-byte signature (NUL padded). */
export function signatureRegisters(signature: string): [number, number, number] {
  if (!/^[\x20-\x7e]{1,12}$/.test(signature)) throw new RangeError(`hypervisor signature ${JSON.stringify(signature)} is not 1-12 printable ASCII characters`);
  const bytes = new Uint8Array(12);
  for (let i = 0; i < signature.length; i++) bytes[i] = signature.charCodeAt(i);
  const v = new DataView(bytes.buffer);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
}

/** Bits needed to number count ids (the APIC id shift of a topology level). */
function idBits(count: number): number {
  return count <= 1 ? 0 : Math.ceil(Math.log2(count));
}

/** value with bits [high:low] replaced by field. */
function setBits(value: number, high: number, low: number, field: number): number {
  const width = high - low + 1;
  const mask = (width === 32 ? 0xffff_ffff : (2 ** width - 1) * 2 ** low) >>> 0;
  return ((value & ~mask) | ((field * 2 ** low) & mask)) >>> 0;
}

function topologyEntries(leaf: number, flags: number, vcpuId: number, vcpuCount: number): CpuidEntry[] {
  const coreShift = idBits(vcpuCount);
  const level = (index: number, eax: number, ebx: number, type: number): CpuidEntry => ({
    function: leaf,
    index,
    flags: flags | KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
    eax,
    ebx,
    ecx: ((type << 8) | index) >>> 0,
    edx: vcpuId,
  });
  return [
    level(0, 0, 1, TOPOLOGY_LEVEL_SMT),
    level(1, coreShift, vcpuCount, TOPOLOGY_LEVEL_CORE),
    level(2, 0, 0, TOPOLOGY_LEVEL_INVALID),
  ];
}

/** The guest's CPUID for one vCPU; the input is not modified. */
export function filterCpuid(supported: readonly CpuidEntry[], options: CpuidFilterOptions): CpuidEntry[] {
  const { vcpuId, vcpuCount } = options;
  if (!Number.isInteger(vcpuCount) || vcpuCount < 1 || vcpuCount > MAX_XAPIC_VCPUS) {
    throw new RangeError(`vcpuCount ${vcpuCount} is not in 1..${MAX_XAPIC_VCPUS}`);
  }
  if (!Number.isInteger(vcpuId) || vcpuId < 0 || vcpuId >= vcpuCount) throw new RangeError(`vcpuId ${vcpuId} is not in 0..${vcpuCount - 1}`);
  const [sigEbx, sigEcx, sigEdx] = signatureRegisters(options.hypervisorSignature ?? KVM_SIGNATURE);
  const vendor = cpuidVendor(supported);
  const amd = vendor === VENDOR_AMD || vendor === VENDOR_HYGON;
  const maxBasic = supported.find((e) => e.function === LEAF_VENDOR)?.eax ?? 0;
  const maxExtended = supported.find((e) => e.function === LEAF_EXTENDED)?.eax ?? LEAF_EXTENDED;

  // Step 1.
  const kept = supported
    .filter((e) => {
      if (e.function < LEAF_HYPERVISOR) return e.function <= maxBasic;
      if (e.function < LEAF_EXTENDED) return e.function === LEAF_HYPERVISOR || e.function === LEAF_KVM_FEATURES;
      return e.function <= maxExtended;
    })
    .map((e) => ({ ...e }));
  const out: CpuidEntry[] = [];
  const topologyDone = new Set<number>();
  for (const e of kept) {
    switch (e.function) {
      case LEAF_FEATURES: {
        // Step 2.
        let ebx = setBits(e.ebx, 31, 24, vcpuId);
        ebx = setBits(ebx, 23, 16, vcpuCount);
        e.ebx = ebx;
        e.ecx = (e.ecx | ECX_HYPERVISOR) >>> 0;
        e.ecx = options.tscDeadline ? (e.ecx | ECX_TSC_DEADLINE) >>> 0 : (e.ecx & ~ECX_TSC_DEADLINE) >>> 0;
        e.edx = vcpuCount > 1 ? (e.edx | EDX_HTT) >>> 0 : (e.edx & ~EDX_HTT) >>> 0;
        break;
      }
      case LEAF_CACHE_PARAMETERS: {
        // Step 3.
        if ((e.eax & 0x1f) === CACHE_TYPE_NULL) break;
        const level = (e.eax >>> 5) & 0x7;
        let eax = setBits(e.eax, 31, 26, vcpuCount - 1);
        eax = setBits(eax, 25, 14, level >= CACHE_LEVEL_SHARED ? vcpuCount - 1 : 0);
        e.eax = eax;
        break;
      }
      case LEAF_POWER:
        // Step 5.
        e.eax = (e.eax & ~EAX_TURBO_BOOST) >>> 0;
        e.ecx = (e.ecx & ~ECX_ENERGY_PERF_BIAS) >>> 0;
        break;
      case LEAF_PMU:
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case LEAF_TOPOLOGY:
      case LEAF_TOPOLOGY_V2:
        // Step 4: replace every subleaf KVM listed with the domain's topology.
        if (!topologyDone.has(e.function)) out.push(...topologyEntries(e.function, e.flags, vcpuId, vcpuCount));
        topologyDone.add(e.function);
        continue;
      case LEAF_AMD_ADDRESS_SIZES:
        // Step 6.
        if (amd) e.ecx = setBits(setBits(e.ecx, 15, 12, idBits(vcpuCount)), 7, 0, vcpuCount - 1);
        break;
      case LEAF_AMD_EXTENDED_APIC:
        if (amd) {
          e.eax = vcpuId;
          e.ebx = setBits(setBits(e.ebx, 15, 8, 0), 7, 0, vcpuId);
          e.ecx = setBits(setBits(e.ecx, 10, 8, 0), 7, 0, 0);
        }
        break;
      case LEAF_HYPERVISOR:
        // Step 7.
        e.ebx = sigEbx;
        e.ecx = sigEcx;
        e.edx = sigEdx;
        break;
      default:
        break;
    }
    out.push(e);
  }
  let hypervisor = out.find((e) => e.function === LEAF_HYPERVISOR);
  if (hypervisor === undefined) {
    hypervisor = { function: LEAF_HYPERVISOR, index: 0, flags: 0, eax: 0, ebx: sigEbx, ecx: sigEcx, edx: sigEdx };
    out.push(hypervisor);
  }
  hypervisor.eax = out.some((e) => e.function === LEAF_KVM_FEATURES) ? LEAF_KVM_FEATURES : LEAF_HYPERVISOR;
  return out;
}

/** The entry for (leaf, subleaf): an entry without SIGNIFCANT_INDEX answers every subleaf. */
export function findCpuid(entries: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry | undefined {
  return entries.find(
    (e) => e.function === leaf && ((e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) === 0 || e.index === subleaf),
  );
}
