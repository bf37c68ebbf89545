/**
 * What the VM needs from an accelerator: `emulated` (Unicorn, runs on the event-loop thread in slices) today,
 * `kvm` later. Both end every exit in the VM's one handleExit(exit) switch (exit.ts).
 */
import type { DescriptorTable, Segment, SpecialRegisters } from '../boot/cpu-state';
import type { WarnLogger } from '../bus';
import type { Interrupts } from '../irq/interrupts';
import type { Doorbells } from './doorbells';
import type { GuestMemory } from '../native';

/** Register order of the native getRegs/setRegs BigUint64Array (engine/native/src/emulated-cpu.cc). */
export const GENERAL_REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
] as const;

export type GeneralRegName = (typeof GENERAL_REG_NAMES)[number];

/** Registers as read: bigint, so every 64-bit value is exact. */
export type GeneralRegs = Record<GeneralRegName, bigint>;

/** Registers to write: bigint, or a number when the value is a safe non-negative integer (as boot code computes). */
export type GeneralRegsInput = Partial<Record<GeneralRegName, bigint | number>>;

/** The kvm_sregs shapes are defined once, with the boot code that computes them. */
export type SegmentState = Segment;
export type DescriptorTableState = DescriptorTable;

/**
 * kvm_sregs subset (TR optional). On `emulated` the segment caches are loaded from the GDT in guest memory by
 * selector (so the GDT must be written first, exactly as boot code does for KVM); real mode uses selector << 4 bases.
 */
export type SpecialRegs = Omit<SpecialRegisters, 'tr'> & { tr?: Segment };

/** A vCPU start state computed once by boot code and applied by either accelerator. */
export interface BootState {
  regs: GeneralRegsInput;
  sregs: SpecialRegs;
}

/**
 * Why runSlice() returned. 'slice-end' and 'stop-requested' need nothing more than another slice (or not);
 * the others were already passed to handleExit as the exit of the same kind.
 */
export type SliceOutcome = 'slice-end' | 'stop-requested' | 'hlt' | 'exception' | 'unmapped' | 'internal-error';

export interface Accelerator {
  readonly type: 'emulated' | 'kvm';
  /** Writes turned into callbacks without a vCPU exit (KVM ioeventfds); undefined: such writes are mmio-write exits. */
  readonly doorbells: Doorbells | undefined;
  /** Maps guest RAM at gpa (page aligned); the accelerator keeps the memory alive while mapped. */
  mapRam(gpa: number, memory: GuestMemory): void;
  /** The VM's interrupt controller, once, before devices are connected (closed by close()). */
  createInterrupts(logger?: WarnLogger): Interrupts;
  /** Declares [gpa, gpa + size) as MMIO: accesses become mmio-read / mmio-write exits. */
  mapMmio(gpa: number, size: number): void;
  /** Applies sregs, then regs (registers not named are left as they are). */
  setBootState(state: BootState): void;
  getRegs(): GeneralRegs;
  setRegs(regs: GeneralRegsInput): void;
  setSregs(sregs: SpecialRegs): void;
  /** Runs the vCPU for one slice (default length, or sliceMicros); every exit, hook or final, goes through handleExit. */
  runSlice(sliceMicros?: number): SliceOutcome;
  /** Ends the current slice at the next block boundary (callable from handleExit); if none runs, the next one. */
  requestStop(): void;
  /**
   * Stops the vCPU between slices, so nothing runs while the VM is paused or reset (emulated: nothing runs between
   * slices anyway; kvm: its vCPU thread is stopped and joined). The next runSlice runs it again.
   */
  halt(): void;
  /** Host wrote [gpa, gpa + length) of guest RAM: drop code translated from it. */
  invalidate(gpa: number, length: number): void;
  /** Drops all translated code (reset, or a large load); not allowed from inside handleExit. */
  flushAll(): void;
  /** Releases the CPU; safe to call twice. */
  close(): void;
}
