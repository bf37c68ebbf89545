import { readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';

/** CPUID as the native addon exposes it: [eax, ebx, ecx, edx], each unsigned 32-bit. */
export type CpuidFn = (leaf: number, subleaf: number) => [number, number, number, number];

/** What the host CPU is, as the kernel and CPUID describe it. */
export interface HostCpuFacts {
  /** "x86_64" (uname -m). */
  arch: string;
  /** CPUID leaf 0 vendor string, e.g. "GenuineIntel". */
  vendor: string;
  /** CPUID brand string (leaves 0x80000002..4), leading and trailing blanks removed; "" when the CPU has none. */
  modelName: string;
  /** Display family, model and stepping, decoded from leaf 1 EAX as Linux does. */
  family: number;
  model: number;
  stepping: number;
  /** Raw CPUID leaf 1 EAX. */
  signature: number;
  /** /proc/cpuinfo "flags" of the first processor: the kernel's names, in the kernel's order. */
  features: string[];
}

/** CPUID leaf 0: highest basic leaf in EAX, vendor string in EBX, EDX, ECX. */
const LEAF_VENDOR = 0x0;
/** CPUID leaf 1: version information (the signature) in EAX. */
const LEAF_SIGNATURE = 0x1;
/** CPUID leaf 0x80000000: highest extended leaf in EAX. */
const LEAF_EXT_MAX = 0x80000000;
/** CPUID leaves 0x80000002..0x80000004: 48 bytes of processor brand string, EAX EBX ECX EDX each. */
const LEAF_BRAND_FIRST = 0x80000002;
const LEAF_BRAND_LAST = 0x80000004;

/** Leaf 1 EAX bit fields (Intel SDM vol. 2A, CPUID "Version Information"; AMD APM vol. 3, CPUID Fn0000_0001_EAX). */
const SIG_STEPPING_SHIFT = 0; // bits 3:0 stepping id
const SIG_MODEL_SHIFT = 4; // bits 7:4 model
const SIG_FAMILY_SHIFT = 8; // bits 11:8 family
const SIG_EXT_MODEL_SHIFT = 16; // bits 19:16 extended model
const SIG_EXT_FAMILY_SHIFT = 20; // bits 27:20 extended family
/** Family value meaning "add the extended family". */
const FAMILY_EXTENDED = 0xf;
/** From this family on Linux adds the extended model (x86_model(): `if (fam >= 0x6)`). */
const FAMILY_EXT_MODEL_MIN = 0x6;

/**
 * Family, model and stepping exactly as Linux's arch/x86/lib/cpu.c computes them (x86_family, x86_model, x86_stepping):
 * family = base family, plus extended family when base is 0xF; model = base model, plus extended model << 4 when the
 * computed family is 6 or more (Linux uses >= 6, covering Intel's 6 and 0xF and AMD's 0xF and up).
 */
export function decodeSignature(signature: number): { family: number; model: number; stepping: number } {
  const sig = signature >>> 0;
  let family = (sig >>> SIG_FAMILY_SHIFT) & 0xf;
  if (family === FAMILY_EXTENDED) family += (sig >>> SIG_EXT_FAMILY_SHIFT) & 0xff;
  let model = (sig >>> SIG_MODEL_SHIFT) & 0xf;
  if (family >= FAMILY_EXT_MODEL_MIN) model += ((sig >>> SIG_EXT_MODEL_SHIFT) & 0xf) << 4;
  const stepping = (sig >>> SIG_STEPPING_SHIFT) & 0xf;
  return { family, model, stepping };
}

/** Four little-endian register values as the ASCII bytes they hold. */
function registerBytes(...registers: number[]): Buffer {
  const bytes = Buffer.alloc(registers.length * 4);
  registers.forEach((value, i) => bytes.writeUInt32LE(value >>> 0, i * 4));
  return bytes;
}

/** The 12-byte vendor string of leaf 0, in register order EBX, EDX, ECX. */
export function cpuVendor(cpuid: CpuidFn): string {
  const [, ebx, ecx, edx] = cpuid(LEAF_VENDOR, 0);
  return registerBytes(ebx, edx, ecx).toString('latin1').replace(/\0+$/, '');
}

/**
 * The brand string of leaves 0x80000002..4 (NUL-terminated, 48 bytes at most), with blanks trimmed as Linux's
 * get_model_name() does; "" when the extended leaves do not reach 0x80000004.
 */
export function cpuBrand(cpuid: CpuidFn): string {
  const [maxExtended] = cpuid(LEAF_EXT_MAX, 0);
  if (maxExtended >>> 0 < LEAF_BRAND_LAST) return '';
  const parts: Buffer[] = [];
  for (let leaf = LEAF_BRAND_FIRST; leaf <= LEAF_BRAND_LAST; leaf++) parts.push(registerBytes(...cpuid(leaf, 0)));
  const raw = Buffer.concat(parts);
  const end = raw.indexOf(0);
  return (end < 0 ? raw : raw.subarray(0, end)).toString('latin1').trim();
}

/** Raw leaf 1 EAX. */
export function cpuSignature(cpuid: CpuidFn): number {
  return cpuid(LEAF_SIGNATURE, 0)[0] >>> 0;
}

/**
 * The "flags" line of the first processor in a /proc/cpuinfo text. Features the kernel names "" print as a bare
 * separator (runs of blanks appear on real hosts), so the line is split on any run of whitespace.
 */
export function parseCpuinfoFlags(cpuinfo: string): string[] {
  const firstProcessor = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const line = firstProcessor.split('\n').find((l) => /^flags\s*:/.test(l));
  if (line === undefined) return [];
  return line.slice(line.indexOf(':') + 1).split(/\s+/).filter((flag) => flag !== '');
}

/** Node's process.arch names mapped to uname -m names, for when os.machine() is not usable. */
const NODE_ARCH_TO_UNAME: Record<string, string> = { x64: 'x86_64', ia32: 'i686', arm64: 'aarch64' };

/** The host architecture as uname -m (and libvirt) name it: "x86_64". */
export function hostArch(): string {
  const fromUname = machine();
  if (fromUname) return fromUname;
  return NODE_ARCH_TO_UNAME[process.arch] ?? process.arch;
}

/** Reads the CPU facts: identity from CPUID, feature names from <procRoot>/cpuinfo. */
export function readHostCpu(cpuid: CpuidFn, procRoot = '/proc'): HostCpuFacts {
  const signature = cpuSignature(cpuid);
  return {
    arch: hostArch(),
    vendor: cpuVendor(cpuid),
    modelName: cpuBrand(cpuid),
    ...decodeSignature(signature),
    signature,
    features: parseCpuinfoFlags(readFileSync(join(procRoot, 'cpuinfo'), 'utf8')),
  };
}
