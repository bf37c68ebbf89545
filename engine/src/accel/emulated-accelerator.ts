/**
 * The emulated accelerator: one Unicorn CPU run on the event-loop thread in time slices.
 *
 * Protocol:
 *   1. runSlice() calls native run(sliceMicros);
 *   2. every IN/OUT/MMIO access inside it calls onExit() synchronously: the mailbox is decoded into the one
 *      reused exit object, handleExit(exit) runs, and for reads exit.data/dataHigh go back to the mailbox;
 *   3. run() returns a RUN_* code: HLT, exceptions, unmapped accesses and errors become one more handleExit
 *      call (same exit object), slice end and requested stops are only returned;
 *   4. a handler that throws ends the slice and runSlice() rethrows it (a host failure stops the vCPU).
 */
import type { WarnLogger } from '../bus';
import { PolledInterrupts, type Interrupts } from '../irq/interrupts';
import { isGuestMemory, native, PAGE_SIZE, type GuestMemory, type NativeEmulatedCpu } from '../native';
import type {
  Accelerator,
  BootState,
  GeneralRegs,
  GeneralRegsInput,
  SegmentState,
  SliceOutcome,
  SpecialRegs,
} from './accelerator';
import { GENERAL_REG_NAMES } from './accelerator';
import {
  ACCESS_FETCH,
  ACCESS_WRITE,
  createReusableExit,
  EXIT_IO_IN,
  EXIT_MMIO_READ,
  MAILBOX_ADDRESS_HIGH,
  MAILBOX_ADDRESS_LOW,
  MAILBOX_DATA_HIGH,
  MAILBOX_DATA_LOW,
  MAILBOX_DETAIL,
  MAILBOX_KIND,
  MAILBOX_SIZE,
  MAILBOX_WORDS,
  RUN_ERROR,
  RUN_EXCEPTION,
  RUN_HLT,
  RUN_INVALID_INSN,
  RUN_SLICE_END,
  RUN_STOP_REQUESTED,
  RUN_UNMAPPED,
  VECTOR_INVALID_OPCODE,
  type ExitHandler,
  type ReusableExit,
  type VcpuExit,
  readAccessRecord,
} from './exit';

/** Default slice: about a millisecond keeps console input and I/O completions prompt (DESIGN.md). */
export const DEFAULT_SLICE_MICROS = 1000;
/** Longest slice native accepts. */
export const MAX_SLICE_MICROS = 60_000_000;

const TWO_POW_32 = 0x1_0000_0000;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT32 = 0xffff_ffff;
const MAX_UINT16 = 0xffff;
const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'] as const;

export interface EmulatedAcceleratorOptions {
  handleExit: ExitHandler;
  /** Time slice in microseconds (default DEFAULT_SLICE_MICROS). */
  sliceMicros?: number;
}

export class EmulatedAccelerator implements Accelerator {
  readonly type = 'emulated' as const;
  /** Unicorn hands every MMIO write to the exit switch: no doorbells. */
  readonly doorbells = undefined;
  private readonly mailbox = new Uint32Array(MAILBOX_WORDS);
  private readonly exit: ReusableExit = createReusableExit();
  private readonly regs = new BigUint64Array(GENERAL_REG_NAMES.length);
  private readonly cpu: NativeEmulatedCpu;
  private readonly handleExit: ExitHandler;
  private readonly sliceMicros: number;
  private closed = false;

  constructor(options: EmulatedAcceleratorOptions) {
    const sliceMicros = options.sliceMicros ?? DEFAULT_SLICE_MICROS;
    if (!Number.isSafeInteger(sliceMicros) || sliceMicros <= 0 || sliceMicros > MAX_SLICE_MICROS) {
      throw new RangeError(`sliceMicros ${sliceMicros} is not in 1..${MAX_SLICE_MICROS}`);
    }
    if (typeof options.handleExit !== 'function') throw new TypeError('handleExit must be a function');
    this.handleExit = options.handleExit;
    this.sliceMicros = sliceMicros;
    this.cpu = new native.EmulatedCpu(this.mailbox, () => this.onHookExit());
  }

  mapRam(gpa: number, memory: GuestMemory): void {
    checkPageAligned('gpa', gpa);
    if (!isGuestMemory(memory)) throw new TypeError('mapRam needs a GuestMemory from createGuestMemory');
    this.cpu.mapRam(gpa, memory);
  }

  mapMmio(gpa: number, size: number): void {
    checkPageAligned('gpa', gpa);
    checkPageAligned('size', size);
    if (size === 0) throw new RangeError('MMIO size must not be 0');
    this.cpu.mapMmio(gpa, size);
  }

  setBootState(state: BootState): void {
    this.setSregs(state.sregs);
    this.setRegs(state.regs);
  }

  getRegs(): GeneralRegs {
    this.cpu.getRegs(this.regs);
    const out = {} as GeneralRegs;
    GENERAL_REG_NAMES.forEach((name, i) => {
      out[name] = this.regs[i];
    });
    return out;
  }

  setRegs(regs: GeneralRegsInput): void {
    this.cpu.getRegs(this.regs);
    GENERAL_REG_NAMES.forEach((name, i) => {
      const value = regs[name];
      if (value !== undefined) this.regs[i] = toRegister(name, value);
    });
    this.cpu.setRegs(this.regs);
  }

  setSregs(sregs: SpecialRegs): void {
    for (const name of SEGMENT_NAMES) checkSegment(name, sregs[name]);
    if (sregs.tr !== undefined) checkSegment('tr', sregs.tr);
    for (const name of ['gdt', 'idt'] as const) {
      checkUint(`${name}.base`, sregs[name].base, Number.MAX_SAFE_INTEGER);
      checkUint(`${name}.limit`, sregs[name].limit, MAX_UINT16);
    }
    for (const name of ['cr0', 'cr3', 'cr4'] as const) checkUint(name, sregs[name], MAX_UINT32);
    checkUint('efer', sregs.efer, Number.MAX_SAFE_INTEGER);
    this.cpu.setSregs(sregs);
  }

  runSlice(sliceMicros = this.sliceMicros): SliceOutcome {
    const code = this.cpu.run(sliceMicros);
    const exit = this.exit;
    const mailbox = this.mailbox;
    switch (code) {
      case RUN_SLICE_END:
        return 'slice-end';
      case RUN_STOP_REQUESTED:
        return 'stop-requested';
      case RUN_HLT:
        exit.kind = 'hlt';
        this.handleExit(exit as VcpuExit);
        return 'hlt';
      case RUN_EXCEPTION:
      case RUN_INVALID_INSN:
        exit.kind = 'exception';
        exit.vector = code === RUN_EXCEPTION ? mailbox[MAILBOX_DETAIL] : VECTOR_INVALID_OPCODE;
        this.handleExit(exit as VcpuExit);
        return 'exception';
      case RUN_UNMAPPED: {
        const access = mailbox[MAILBOX_DETAIL];
        exit.kind = 'unmapped';
        exit.address = mailbox[MAILBOX_ADDRESS_LOW] + mailbox[MAILBOX_ADDRESS_HIGH] * TWO_POW_32;
        exit.size = mailbox[MAILBOX_SIZE];
        exit.access = access === ACCESS_WRITE ? 'write' : access === ACCESS_FETCH ? 'fetch' : 'read';
        this.handleExit(exit as VcpuExit);
        return 'unmapped';
      }
      case RUN_ERROR:
      default:
        exit.kind = 'internal-error';
        exit.code = code === RUN_ERROR ? mailbox[MAILBOX_DETAIL] : code;
        exit.message =
          code === RUN_ERROR ? `uc_emu_start: ${native.ucStrerror(exit.code)}` : `unknown run result ${code}`;
        this.handleExit(exit as VcpuExit);
        return 'internal-error';
    }
  }

  requestStop(): void {
    this.cpu.requestStop();
  }

  invalidate(gpa: number, length: number): void {
    checkUint('gpa', gpa, Number.MAX_SAFE_INTEGER);
    checkUint('length', length, Number.MAX_SAFE_INTEGER - gpa);
    this.cpu.invalidate(gpa, length);
  }

  flushAll(): void {
    this.cpu.flushAll();
  }

  /** The CPU runs only inside runSlice(): there is nothing to stop between slices. */
  halt(): void {}

  /** Unicorn cannot take interrupts: test guests poll, and the lines only record their level. */
  createInterrupts(logger?: WarnLogger): Interrupts {
    return new PolledInterrupts(logger);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cpu.close();
  }

  /** Called by native from inside a hook with the mailbox filled. */
  private onHookExit(): void {
    const mailbox = this.mailbox;
    const exit = this.exit;
    const kind = mailbox[MAILBOX_KIND];
    readAccessRecord(mailbox, 0, exit);
    this.handleExit(exit as VcpuExit);
    if (kind === EXIT_IO_IN || kind === EXIT_MMIO_READ) {
      mailbox[MAILBOX_DATA_LOW] = exit.data;
      mailbox[MAILBOX_DATA_HIGH] = exit.dataHigh;
    }
  }
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is not in 0..${max}`);
}

function checkPageAligned(name: string, value: number): void {
  checkUint(name, value, Number.MAX_SAFE_INTEGER);
  if (value % PAGE_SIZE !== 0) throw new RangeError(`${name} ${value} is not a multiple of ${PAGE_SIZE}`);
}

function checkSegment(name: string, segment: SegmentState): void {
  if (typeof segment !== 'object' || segment === null) throw new TypeError(`${name} must be a segment`);
  checkUint(`${name}.selector`, segment.selector, MAX_UINT16);
  checkUint(`${name}.base`, segment.base, Number.MAX_SAFE_INTEGER);
  checkUint(`${name}.limit`, segment.limit, MAX_UINT32);
  for (const field of ['type', 'present', 'dpl', 'db', 's', 'l', 'g'] as const) {
    checkUint(`${name}.${field}`, segment[field], field === 'type' ? 0xf : field === 'dpl' ? 3 : 1);
  }
}

function toRegister(name: string, value: bigint | number): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} ${value} is not a safe non-negative integer`);
    return BigInt(value);
  }
  if (value < 0n || value > MAX_UINT64) throw new RangeError(`${name} ${value} does not fit 64 bits`);
  return value;
}
