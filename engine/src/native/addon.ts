/**
 * Loads hv_native.node and declares what it exports. The addon is thin: these declarations are its whole
 * surface, and the small factories below validate arguments before anything reaches C++.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SpecialRegs } from '../accel/accelerator';
import type { Segment } from '../boot/cpu-state';

/** Host pages shared by JS and the accelerator: one mmap with PROT_NONE guard pages around it. */
export interface GuestMemory {
  /** External ArrayBuffer over exactly the read/write pages (no copy; the same object on every read). */
  readonly buffer: ArrayBuffer;
  readonly byteLength: number;
}

/** kvm_sregs-like state for EmulatedCpu.setSregs (only selectors, and FS/GS bases in long mode, are read from
 * segments); the GDT it names must already be in guest RAM. */
export type NativeSregs = SpecialRegs;
export type NativeSegment = Segment;

/** One Unicorn x86 engine; see engine/src/accel/emulated-accelerator.ts for the protocol. */
export interface NativeEmulatedCpu {
  mapRam(gpa: number, memory: GuestMemory): void;
  mapMmio(gpa: number, size: number): void;
  /** Runs from the current RIP for at most sliceMicros; returns a RUN_* code (engine/src/accel/exit.ts). */
  run(sliceMicros: number): number;
  requestStop(): void;
  /** Reads the 18 registers in GENERAL_REG_NAMES order. */
  getRegs(out: BigUint64Array): void;
  setRegs(values: BigUint64Array): void;
  setSregs(state: NativeSregs): void;
  invalidate(gpa: number, length: number): void;
  flushAll(): void;
  close(): void;
}

/** The /dev/kvm system fd. */
export interface NativeKvm {
  apiVersion(): number;
  checkExtension(capability: number): number;
  close(): void;
}

/** Numbers from engine/native/src/constants.h, exported so tests can check exit.ts against them. */
export type EmulatedConstants = Record<
  | 'kMailboxWords' | 'kMailboxKind' | 'kMailboxSize' | 'kMailboxAddressLow' | 'kMailboxAddressHigh'
  | 'kMailboxDataLow' | 'kMailboxDataHigh' | 'kMailboxDetail' | 'kExitIoIn' | 'kExitIoOut' | 'kExitMmioRead'
  | 'kExitMmioWrite' | 'kRunSliceEnd' | 'kRunStopRequested' | 'kRunHlt' | 'kRunException' | 'kRunInvalidInsn'
  | 'kRunUnmapped' | 'kRunError' | 'kAccessRead' | 'kAccessWrite' | 'kAccessFetch',
  number
>;

/** KVM numbers taken from <linux/kvm.h> at build time. */
export type KvmConstants = Record<
  | 'KVM_API_VERSION' | 'KVM_CAP_IRQCHIP' | 'KVM_CAP_USER_MEMORY' | 'KVM_CAP_SET_TSS_ADDR' | 'KVM_CAP_EXT_CPUID'
  | 'KVM_CAP_IOEVENTFD' | 'KVM_CAP_IRQFD' | 'KVM_CAP_PIT2' | 'KVM_CAP_IRQ_ROUTING'
  | 'KVM_CAP_SET_IDENTITY_MAP_ADDR' | 'KVM_CAP_IMMEDIATE_EXIT' | 'KVM_CAP_NR_VCPUS' | 'KVM_CAP_MAX_VCPUS',
  number
>;

export interface NativeAddon {
  GuestMemory: new (sizeBytes: number) => GuestMemory;
  EmulatedCpu: new (exitBuffer: Uint32Array, onExit: () => void) => NativeEmulatedCpu;
  /** Opens devicePath (default /dev/kvm); throws an Error with `code` ('ENOENT', 'EACCES', ...) and `errno`. */
  Kvm: new (devicePath?: string) => NativeKvm;
  cpuid(leaf: number, subleaf: number): [number, number, number, number];
  /** uc_strerror text for a uc_err code. */
  ucStrerror(code: number): string;
  emulatedConstants: EmulatedConstants;
  kvmConstants: KvmConstants;
  /** "major.minor" of the linked libunicorn. */
  unicornVersion: string;
}

/** Where the .node lives: running from source (engine/src/native) or compiled (dist/engine/src/native). */
const ADDON_CANDIDATES = [
  path.join(__dirname, '../../native/build/Release/hv_native.node'),
  path.join(__dirname, '../../../../engine/native/build/Release/hv_native.node'),
];

function loadAddon(): NativeAddon {
  const found = ADDON_CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (found === undefined) {
    throw new Error(`hv_native.node not found (looked at ${ADDON_CANDIDATES.join(', ')}); run npm run build:native`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(found) as NativeAddon;
}

export const native: NativeAddon = loadAddon();

/** Host and guest page size. */
export const PAGE_SIZE = 4096;

/** Allocates guest RAM; sizeBytes must be a positive multiple of PAGE_SIZE. */
export function createGuestMemory(sizeBytes: number): GuestMemory {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % PAGE_SIZE !== 0) {
    throw new RangeError(`guest memory size ${sizeBytes} is not a positive multiple of ${PAGE_SIZE}`);
  }
  return new native.GuestMemory(sizeBytes);
}

/** True for objects made by createGuestMemory (the native class). */
export function isGuestMemory(value: unknown): value is GuestMemory {
  return value instanceof native.GuestMemory;
}

const MAX_UINT32 = 0xffff_ffff;

/** CPUID on the host CPU: [eax, ebx, ecx, edx]. */
export function cpuid(leaf: number, subleaf = 0): [number, number, number, number] {
  for (const [name, value] of [['leaf', leaf], ['subleaf', subleaf]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) throw new RangeError(`cpuid ${name} ${value}`);
  }
  return native.cpuid(leaf, subleaf);
}
