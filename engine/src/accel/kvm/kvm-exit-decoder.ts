/**
 * Decodes kvm_run after KVM_RUN returned 0 and hands each exit to the VM's one exit switch, reusing one exit
 * object (no allocation per exit). Steps:
 *   1. read exit_reason;
 *   2. KVM_EXIT_IO: count items of size bytes at data_offset (rep ins/outs give several): one io-in/io-out exit per
 *      item, answers to io-in written back in place for KVM to complete the instruction on the next KVM_RUN;
 *   3. KVM_EXIT_MMIO: one mmio-read/mmio-write of len bytes from mmio.data; the answer to a read goes back there;
 *   4. HLT and SHUTDOWN (triple fault) map to their exits, SYSTEM_EVENT shutdown/reset/crash to a system-event exit
 *      (ending the slice); FAIL_ENTRY, INTERNAL_ERROR, other SYSTEM_EVENTs and unknown reasons become
 *      internal-error (a host or KVM problem: the VM stops the vCPU);
 *   5. KVM_EXIT_INTR is not an exit to handle (a kick ended KVM_RUN).
 * Every length and offset the kernel wrote is checked against the mapping before use.
 */
import type { SliceOutcome } from '../accelerator';
import type { ExitHandler, ReusableExit, SystemEvent, VcpuExit } from '../exit';
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_RUN,
  KVM_RUN_DATA_WORDS,
  KVM_RUN_SIZE,
  KVM_SYSTEM_EVENT_CRASH,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
} from './kvm-abi';

/** What a read returns when the handler does not answer: an undriven bus reads all ones. */
export const UNANSWERED_READ = 0xffff_ffff;
/** Largest MMIO access KVM reports. */
const MAX_MMIO_LEN = 8;

/**
 * null: the exit was handled, re-enter the guest. Otherwise the slice ends with this outcome (a triple fault ends it
 * as 'exception', the closest SliceOutcome; handleExit already saw it as 'shutdown').
 */
export type KvmExitOutcome = SliceOutcome | null;

/** The KVM_SYSTEM_EVENT_* types the platform acts on. */
const SYSTEM_EVENTS = new Map<number, SystemEvent>([
  [KVM_SYSTEM_EVENT_SHUTDOWN, 'shutdown'],
  [KVM_SYSTEM_EVENT_RESET, 'reset'],
  [KVM_SYSTEM_EVENT_CRASH, 'crash'],
]);

function internalError(exit: ReusableExit, handleExit: ExitHandler, code: number, message: string): KvmExitOutcome {
  exit.kind = 'internal-error';
  exit.code = code;
  exit.message = message;
  handleExit(exit as VcpuExit);
  return 'internal-error';
}

function readLe(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[at + i];
  return value;
}

function writeLe(bytes: Uint8Array, at: number, size: number, value: number): void {
  let rest = value;
  for (let i = 0; i < size; i++) {
    bytes[at + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

function words(view: DataView, at: number, count: number): string {
  const n = Math.min(count, KVM_RUN_DATA_WORDS);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(hex(view.getBigUint64(at + i * 8, true)));
  return out.join(' ');
}

function decodeIo(run: Uint8Array, view: DataView, exit: ReusableExit, handleExit: ExitHandler): KvmExitOutcome {
  const direction = view.getUint8(KVM_RUN.ioDirection);
  const size = view.getUint8(KVM_RUN.ioSize);
  const port = view.getUint16(KVM_RUN.ioPort, true);
  const count = view.getUint32(KVM_RUN.ioCount, true);
  const dataOffset = view.getBigUint64(KVM_RUN.ioDataOffset, true);
  if ((size !== 1 && size !== 2 && size !== 4) || (direction !== KVM_EXIT_IO_IN && direction !== KVM_EXIT_IO_OUT)) {
    return internalError(exit, handleExit, KVM_EXIT_IO, `KVM_EXIT_IO with direction ${direction} and size ${size}`);
  }
  if (dataOffset + BigInt(size) * BigInt(count) > BigInt(run.byteLength) || dataOffset < BigInt(KVM_RUN_SIZE)) {
    return internalError(exit, handleExit, KVM_EXIT_IO, `KVM_EXIT_IO data (${count} x ${size} bytes at ${hex(dataOffset)}) is outside the ${run.byteLength}-byte kvm_run mapping`);
  }
  const base = Number(dataOffset);
  const isIn = direction === KVM_EXIT_IO_IN;
  for (let i = 0; i < count; i++) {
    const at = base + i * size;
    exit.kind = isIn ? 'io-in' : 'io-out';
    exit.port = port;
    exit.size = size;
    exit.data = isIn ? UNANSWERED_READ : readLe(run, at, size);
    exit.dataHigh = 0;
    handleExit(exit as VcpuExit);
    if (isIn) writeLe(run, at, size, (exit.data >>> 0) % 2 ** (size * 8));
  }
  return null;
}

function decodeMmio(run: Uint8Array, view: DataView, exit: ReusableExit, handleExit: ExitHandler): KvmExitOutcome {
  const address = view.getBigUint64(KVM_RUN.mmioPhysAddr, true);
  const len = view.getUint32(KVM_RUN.mmioLen, true);
  const isWrite = view.getUint8(KVM_RUN.mmioIsWrite) !== 0;
  if (len < 1 || len > MAX_MMIO_LEN) return internalError(exit, handleExit, KVM_EXIT_MMIO, `KVM_EXIT_MMIO of ${len} bytes`);
  if (address > BigInt(Number.MAX_SAFE_INTEGER)) {
    return internalError(exit, handleExit, KVM_EXIT_MMIO, `KVM_EXIT_MMIO at ${hex(address)}, beyond any guest-physical address`);
  }
  const lowSize = Math.min(len, 4);
  exit.kind = isWrite ? 'mmio-write' : 'mmio-read';
  exit.address = Number(address);
  exit.size = len;
  exit.data = isWrite ? readLe(run, KVM_RUN.mmioData, lowSize) : UNANSWERED_READ;
  exit.dataHigh = isWrite ? (len > 4 ? readLe(run, KVM_RUN.mmioData + 4, len - 4) : 0) : UNANSWERED_READ;
  handleExit(exit as VcpuExit);
  if (!isWrite) {
    writeLe(run, KVM_RUN.mmioData, lowSize, (exit.data >>> 0) % 2 ** (lowSize * 8));
    if (len > 4) writeLe(run, KVM_RUN.mmioData + 4, len - 4, (exit.dataHigh >>> 0) % 2 ** ((len - 4) * 8));
  }
  return null;
}

/** Steps 1-5 over the kvm_run mapping (at least KVM_RUN_SIZE bytes). */
export function dispatchKvmExit(run: Uint8Array, exit: ReusableExit, handleExit: ExitHandler): KvmExitOutcome {
  if (run.byteLength < KVM_RUN_SIZE) throw new RangeError(`kvm_run mapping of ${run.byteLength} bytes is smaller than ${KVM_RUN_SIZE}`);
  const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
  const reason = view.getUint32(KVM_RUN.exitReason, true);
  switch (reason) {
    case KVM_EXIT_IO:
      return decodeIo(run, view, exit, handleExit);
    case KVM_EXIT_MMIO:
      return decodeMmio(run, view, exit, handleExit);
    case KVM_EXIT_HLT:
      exit.kind = 'hlt';
      handleExit(exit as VcpuExit);
      return 'hlt';
    case KVM_EXIT_SHUTDOWN:
      exit.kind = 'shutdown';
      handleExit(exit as VcpuExit);
      return 'exception';
    case KVM_EXIT_INTR:
      return 'slice-end';
    case KVM_EXIT_FAIL_ENTRY: {
      const why = view.getBigUint64(KVM_RUN.failEntryReason, true);
      const cpu = view.getUint32(KVM_RUN.failEntryCpu, true);
      return internalError(exit, handleExit, reason, `KVM_EXIT_FAIL_ENTRY: hardware entry failure reason ${hex(why)} on host CPU ${cpu}`);
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      const suberror = view.getUint32(KVM_RUN.internalSuberror, true);
      const ndata = view.getUint32(KVM_RUN.internalNdata, true);
      const data = words(view, KVM_RUN.internalData, ndata);
      return internalError(exit, handleExit, reason, `KVM_EXIT_INTERNAL_ERROR: suberror ${suberror}${data ? ` data ${data}` : ''}`);
    }
    case KVM_EXIT_SYSTEM_EVENT: {
      const type = view.getUint32(KVM_RUN.systemEventType, true);
      const event = SYSTEM_EVENTS.get(type);
      if (event === undefined) return internalError(exit, handleExit, reason, `KVM_EXIT_SYSTEM_EVENT of unknown type ${type}`);
      exit.kind = 'system-event';
      exit.event = event;
      handleExit(exit as VcpuExit);
      return 'stop-requested';
    }
    default:
      return internalError(exit, handleExit, reason, `unexpected KVM exit reason ${reason}`);
  }
}

/** Sets or clears kvm_run.immediate_exit. */
export function setImmediateExit(run: Uint8Array, on: boolean): void {
  run[KVM_RUN.immediateExit] = on ? 1 : 0;
}
