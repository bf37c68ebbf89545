/**
 * Loads hv_native.node and declares what it exports. The addon is thin: these declarations are its whole
 * surface, and the small factories below validate arguments before anything reaches C++.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SpecialRegs } from '../accel/accelerator';
import type { Segment } from '../boot/cpu-state';
import { addonCandidates, nativeBuildFrom } from './addon-build';

/** Host pages shared by JS and the accelerator: one mmap with PROT_NONE guard pages around it. */
export interface GuestMemory {
  /** External ArrayBuffer over exactly the read/write pages (no copy; the same object on every read). */
  readonly buffer: ArrayBuffer;
  readonly byteLength: number;
  /** Returns whole pages at [offset, offset + length) to the host (MADV_DONTNEED): they read as zero afterwards.
   * Throws RangeError unless both are page multiples and the range lies inside the RAM. */
  discard(offset: number, length: number): void;
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

/** The /dev/kvm system fd (engine/native/src/kvm.cc). */
export interface NativeKvm {
  apiVersion(): number;
  checkExtension(capability: number): number;
  /** KVM_GET_VCPU_MMAP_SIZE: bytes of each vCPU's kvm_run mapping. */
  vcpuMmapSize(): number;
  /** KVM_GET_SUPPORTED_CPUID: kvm_cpuid_entry2 bytes (40 per entry). */
  supportedCpuid(): Uint8Array;
  /** KVM_GET_MSR_INDEX_LIST: MSR indices KVM saves and restores. */
  msrIndexList(): Uint32Array;
  close(): void;
}

/** One KVM VM (engine/native/src/kvm-vm.cc); numbers are validated by engine/src/accel/kvm before they get here. */
export interface NativeVmFd {
  /** Maps the whole of memory at gpa in slot (null deletes the slot); the VM keeps the memory alive. */
  setUserMemoryRegion(slot: number, flags: number, gpa: number, memory: GuestMemory | null): void;
  createIrqchip(): void;
  createPit2(flags: number): void;
  setTssAddr(gpa: number): void;
  setIdentityMapAddr(gpa: number): void;
  ioeventfd(fd: number, addr: number, length: number, flags: number, datamatch?: bigint | number): void;
  irqfd(fd: number, gsi: number, flags: number): void;
  /** Replaces the routing table with kvm_irq_routing_entry bytes (48 per entry). */
  setGsiRouting(entries: Uint8Array): void;
  irqLine(irq: number, level: number): void;
  close(): void;
}

/** One KVM vCPU (engine/native/src/kvm-vcpu.cc). Struct arguments are kernel-layout bytes (accel/kvm/kvm-abi.ts). */
export interface NativeVcpuFd {
  /** The mmap'd kvm_run (KVM_GET_VCPU_MMAP_SIZE bytes), shared with the kernel. */
  readonly runBuffer: ArrayBuffer;
  getRegs(out: Uint8Array): void;
  setRegs(regs: Uint8Array): void;
  getSregs(out: Uint8Array): void;
  setSregs(sregs: Uint8Array): void;
  setCpuid2(entries: Uint8Array): void;
  /** Returns how many MSRs were set (KVM stops at the first it rejects). */
  setMsrs(entries: Uint8Array): number;
  /** Fills each entry's data in place; returns how many were read. */
  getMsrs(entries: Uint8Array): number;
  close(): void;
}

/** A non-blocking eventfd (engine/native/src/kvm-eventfd.cc): ioeventfd doorbells and irqfd triggers. */
export interface NativeEventFd {
  readonly fd: number;
  /** The counter since the last read (0 when nothing was signalled). */
  read(): number;
  write(value?: number): void;
  /** Calls onSignal(count) on the loop thread each time the counter became non-zero (reading it back to zero). */
  watch(onSignal: (count: number) => void): void;
  close(): void;
}

/** An open tap (engine/native/src/tap.cc): frames arrive through the constructor's callback, between slices. */
export interface NativeTap {
  readonly name: string;
  /** Sends one Ethernet frame: 0, or the errno when the kernel refused it (EAGAIN: its queue is full). */
  write(frame: Uint8Array): number;
  /** Stops reading and closes the fd (safe to call twice). */
  close(): void;
}

/**
 * One vCPU on a native thread of its own (engine/native/src/kvm-vcpu-thread.h): writes posted, reads waited for.
 * Driven by KVM_RUN on a VcpuFd, or by a Unicorn x86-64 engine over a GuestMemory (how tests drive it here).
 */
export interface NativeVcpuThread {
  start(): void;
  /** Copies whole exit records (kRecordWords u32 each) into out, waiting up to timeoutMicros for the first. */
  take(out: Uint32Array, timeoutMicros: number): number;
  /** Answers the read that ended the last batch (low and high 32 bits). */
  answer(low: number, high?: number): void;
  /** Ends the thread at its next exit with a STOPPED record; reads still wait for their answers (drain them). */
  requestStop(): void;
  /** Ends the thread and joins it; a waiting read is cancelled. Safe to call twice. */
  stop(): void;
  close(): void;
}

/** Emulated-backend options: 64-bit mode from rip with rsp, RAM at guest-physical 0, one MMIO window. */
export interface NativeVcpuThreadEmulated {
  memory: GuestMemory;
  mmioGpa: number;
  mmioSize: number;
  rip: number;
  rsp: number;
}

/** Record layout and final kinds of VcpuThread (engine/native/src/kvm-exit-channel.h). */
export type VcpuThreadConstants = Record<
  'kRecordWords' | 'kRingRecords' | 'kThreadExitHlt' | 'kThreadExitStopped' | 'kThreadExitError' | 'kThreadExitShutdown'
  | 'kThreadExitSystemEvent',
  number
>;

/** Sizes and offsets of kernel structures, from the compiler (pinned by static_assert in kvm-layout.cc). */
export type KvmLayout = Record<
  | 'kvmRunSize' | 'kvmRunImmediateExit' | 'kvmRunExitReason' | 'kvmRunIoDirection' | 'kvmRunIoSize' | 'kvmRunIoPort'
  | 'kvmRunIoCount' | 'kvmRunIoDataOffset' | 'kvmRunMmioPhysAddr' | 'kvmRunMmioData' | 'kvmRunMmioLen'
  | 'kvmRunMmioIsWrite' | 'kvmRunFailEntryReason' | 'kvmRunFailEntryCpu' | 'kvmRunInternalSuberror'
  | 'kvmRunInternalNdata' | 'kvmRunInternalData' | 'kvmRunSystemEventType' | 'kvmRunSystemEventNdata'
  | 'kvmRunSystemEventData' | 'kvmRegsSize' | 'kvmRegsRip' | 'kvmRegsRflags' | 'kvmSegmentSize' | 'kvmSegmentLimit'
  | 'kvmSegmentSelector' | 'kvmSegmentType' | 'kvmSegmentUnusable' | 'kvmDtableSize' | 'kvmDtableLimit'
  | 'kvmSregsSize' | 'kvmSregsTr' | 'kvmSregsLdt' | 'kvmSregsGdt' | 'kvmSregsIdt' | 'kvmSregsCr0' | 'kvmSregsCr3'
  | 'kvmSregsCr4' | 'kvmSregsEfer' | 'kvmSregsApicBase' | 'kvmCpuidEntry2Size' | 'kvmCpuidEntry2Eax'
  | 'kvmCpuidEntry2Edx' | 'kvmMsrEntrySize' | 'kvmMsrEntryData' | 'kvmIrqRoutingEntrySize' | 'kvmIrqRoutingEntryU'
  | 'kvmIrqRoutingEntries' | 'kvmCpuid2Entries' | 'kvmMsrsEntries' | 'kvmUserspaceMemoryRegionSize',
  number
>;

/** KVM_EXIT_*, routing, ioeventfd and irqfd numbers from <linux/kvm.h>. */
export type KvmAbiNumbers = Record<
  | 'KVM_EXIT_UNKNOWN' | 'KVM_EXIT_IO' | 'KVM_EXIT_HLT' | 'KVM_EXIT_MMIO' | 'KVM_EXIT_SHUTDOWN' | 'KVM_EXIT_FAIL_ENTRY'
  | 'KVM_EXIT_INTR' | 'KVM_EXIT_INTERNAL_ERROR' | 'KVM_EXIT_SYSTEM_EVENT' | 'KVM_EXIT_IO_IN' | 'KVM_EXIT_IO_OUT'
  | 'KVM_SYSTEM_EVENT_SHUTDOWN' | 'KVM_SYSTEM_EVENT_RESET' | 'KVM_SYSTEM_EVENT_CRASH' | 'KVM_INTERNAL_ERROR_EMULATION'
  | 'KVM_IRQ_ROUTING_IRQCHIP' | 'KVM_IRQ_ROUTING_MSI' | 'KVM_IRQCHIP_PIC_MASTER' | 'KVM_IRQCHIP_PIC_SLAVE'
  | 'KVM_IRQCHIP_IOAPIC' | 'KVM_IOEVENTFD_FLAG_DATAMATCH' | 'KVM_IOEVENTFD_FLAG_PIO' | 'KVM_IOEVENTFD_FLAG_DEASSIGN'
  | 'KVM_IRQFD_FLAG_DEASSIGN' | 'KVM_PIT_SPEAKER_DUMMY' | 'KVM_MEM_READONLY',
  number
>;

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
  | 'KVM_CAP_SET_IDENTITY_MAP_ADDR' | 'KVM_CAP_IMMEDIATE_EXIT' | 'KVM_CAP_NR_VCPUS' | 'KVM_CAP_MAX_VCPUS'
  | 'KVM_CAP_TSC_DEADLINE_TIMER',
  number
>;

export interface NativeAddon {
  GuestMemory: new (sizeBytes: number) => GuestMemory;
  EmulatedCpu: new (exitBuffer: Uint32Array, onExit: () => void) => NativeEmulatedCpu;
  /** Opens devicePath (default /dev/kvm); throws an Error with `code` ('ENOENT', 'EACCES', ...) and `errno`. */
  Kvm: new (devicePath?: string) => NativeKvm;
  /** KVM_CREATE_VM on kvm's fd. */
  VmFd: new (kvm: NativeKvm) => NativeVmFd;
  /** KVM_CREATE_VCPU on vm's fd, and the mmap of its kvm_run. */
  VcpuFd: new (vm: NativeVmFd, id: number) => NativeVcpuFd;
  EventFd: new () => NativeEventFd;
  VcpuThread: new (cpu: NativeVcpuFd | NativeVcpuThreadEmulated) => NativeVcpuThread;
  /** Attaches to the existing tap `name`; throws an Error with `code` (ENODEV, EBUSY, EPERM, EINVAL, ...). */
  Tap: new (name: string, onFrame: (error: Error | null, frame?: Uint8Array) => void) => NativeTap;
  vcpuThreadConstants: VcpuThreadConstants;
  cpuid(leaf: number, subleaf: number): [number, number, number, number];
  /** uc_strerror text for a uc_err code. */
  ucStrerror(code: number): string;
  emulatedConstants: EmulatedConstants;
  kvmConstants: KvmConstants;
  kvmLayout: KvmLayout;
  kvmAbi: KvmAbiNumbers;
  /** "major.minor" of the linked libunicorn. */
  unicornVersion: string;
  /** Only in the sanitizer build (HV_NATIVE_BUILD=asan). */
  testProbes?: NativeTestProbes;
}

/** Deliberate memory errors, only in the sanitizer build (engine/native/src/test-probes.cc). */
export interface NativeTestProbes {
  /** Reads one byte past a 16-byte heap block (ASan: heap-buffer-overflow). */
  heapOverflowRead(): number;
  /** Reads guest RAM at offset with no bounds check (outside it: a guard page, SIGSEGV). */
  readGuestByte(memory: GuestMemory, offset: number): number;
}

function loadAddon(): NativeAddon {
  const build = nativeBuildFrom(process.env);
  const candidates = addonCandidates(build);
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (found === undefined) {
    const how = build === 'release' ? 'npm run build:native' : 'npm run build:native-asan';
    throw new Error(`hv_native.node (${build}) not found (looked at ${candidates.join(', ')}); run ${how}`);
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
