/**
 * The vCPU exit union every accelerator ends in, and the emulated CPU's mailbox numbers.
 *
 * Emulated exits travel through a shared Uint32Array mailbox (engine/native/src/constants.h has the same numbers;
 * a test checks they match):
 *   1. a Unicorn hook (IN, OUT, MMIO read/write) fills the mailbox and calls onExit() synchronously;
 *   2. the accelerator decodes the mailbox into its one reused VcpuExit object and calls handleExit(exit);
 *   3. for reads the handler sets exit.data (and dataHigh for 8-byte MMIO), copied back to the mailbox,
 *      and native returns that value to the guest.
 */

/** Words in the mailbox Uint32Array. */
export const MAILBOX_WORDS = 8;
/** Mailbox word: exit kind (EXIT_IO_IN ... EXIT_MMIO_WRITE). */
export const MAILBOX_KIND = 0;
/** Mailbox word: access size in bytes. */
export const MAILBOX_SIZE = 1;
/** Mailbox word: port, guest-physical or faulting address, low 32 bits. */
export const MAILBOX_ADDRESS_LOW = 2;
/** Mailbox word: address, high 32 bits. */
export const MAILBOX_ADDRESS_HIGH = 3;
/** Mailbox word: data (written by the guest, or the answer to a read), low 32 bits. */
export const MAILBOX_DATA_LOW = 4;
/** Mailbox word: data, high 32 bits (8-byte MMIO only). */
export const MAILBOX_DATA_HIGH = 5;
/** Mailbox word: exception vector (RUN_EXCEPTION), uc_err (RUN_ERROR) or ACCESS_* (RUN_UNMAPPED). */
export const MAILBOX_DETAIL = 6;

/** Mailbox kind: IN instruction. */
export const EXIT_IO_IN = 1;
/** Mailbox kind: OUT instruction. */
export const EXIT_IO_OUT = 2;
/** Mailbox kind: load from an MMIO region. */
export const EXIT_MMIO_READ = 3;
/** Mailbox kind: store to an MMIO region. */
export const EXIT_MMIO_WRITE = 4;

/** run(): the time slice ran out. */
export const RUN_SLICE_END = 0;
/** run(): requestStop() ended the slice at a block boundary. */
export const RUN_STOP_REQUESTED = 1;
/** run(): the guest executed HLT; RIP is after it. */
export const RUN_HLT = 2;
/** run(): a CPU exception (vector in MAILBOX_DETAIL); Unicorn cannot deliver it through the IDT. */
export const RUN_EXCEPTION = 3;
/** run(): an undecodable instruction (ud2 included): Unicorn stops instead of raising #UD. */
export const RUN_INVALID_INSN = 4;
/** run(): access to unmapped guest-physical memory (address in the address words, ACCESS_* in MAILBOX_DETAIL). */
export const RUN_UNMAPPED = 5;
/** run(): uc_emu_start failed otherwise (uc_err in MAILBOX_DETAIL). */
export const RUN_ERROR = 6;

/** Unmapped access types. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_FETCH = 2;

/** #DE: divide error. */
export const VECTOR_DIVIDE_ERROR = 0;
/** #BP: int3. */
export const VECTOR_BREAKPOINT = 3;
/** #UD: invalid opcode (what RUN_INVALID_INSN is reported as). */
export const VECTOR_INVALID_OPCODE = 6;

/** IN: the handler answers by setting `data` (bits beyond `size` are ignored). */
export interface IoInExit {
  kind: 'io-in';
  port: number;
  size: number;
  data: number;
}
export interface IoOutExit {
  kind: 'io-out';
  port: number;
  size: number;
  data: number;
}
/** MMIO load: the handler sets `data` (low 32 bits) and, for size 8, `dataHigh`. */
export interface MmioReadExit {
  kind: 'mmio-read';
  address: number;
  size: number;
  data: number;
  dataHigh: number;
}
export interface MmioWriteExit {
  kind: 'mmio-write';
  address: number;
  size: number;
  data: number;
  dataHigh: number;
}
/** HLT: park the vCPU until an interrupt would wake it. */
export interface HltExit {
  kind: 'hlt';
}
/** Triple fault (KVM_EXIT_SHUTDOWN). */
export interface ShutdownExit {
  kind: 'shutdown';
}
/** The guest asked the platform to power off, reset or report a crash through the hypervisor (KVM_EXIT_SYSTEM_EVENT). */
export interface SystemEventExit {
  kind: 'system-event';
  event: SystemEvent;
}
export type SystemEvent = 'shutdown' | 'reset' | 'crash';
/** A CPU exception the accelerator cannot deliver (emulated: every exception; treat as a triple fault). */
export interface ExceptionExit {
  kind: 'exception';
  vector: number;
}
/** Guest touched guest-physical memory that is neither RAM nor MMIO. */
export interface UnmappedExit {
  kind: 'unmapped';
  address: number;
  size: number;
  access: 'read' | 'write' | 'fetch';
}
/** The accelerator failed (host problem): stop the vCPU. */
export interface InternalErrorExit {
  kind: 'internal-error';
  message: string;
  code: number;
}

export type VcpuExit =
  | IoInExit
  | IoOutExit
  | MmioReadExit
  | MmioWriteExit
  | HltExit
  | ShutdownExit
  | SystemEventExit
  | ExceptionExit
  | UnmappedExit
  | InternalErrorExit;

export type VcpuExitKind = VcpuExit['kind'];

/** What a read returns when the handler does not set one: an undriven bus reads all ones. */
export const UNANSWERED_READ = 0xffff_ffff;

/**
 * Fills `exit` from the access record (EXIT_IO_* or EXIT_MMIO_*) at word `at`: the emulated mailbox and the vCPU
 * thread's ring records share the MAILBOX_* layout. A read carries UNANSWERED_READ until the handler answers.
 */
export function readAccessRecord(words: Uint32Array, at: number, exit: ReusableExit): void {
  const kind = words[at + MAILBOX_KIND];
  exit.size = words[at + MAILBOX_SIZE];
  if (kind === EXIT_IO_IN || kind === EXIT_IO_OUT) {
    exit.kind = kind === EXIT_IO_IN ? 'io-in' : 'io-out';
    exit.port = words[at + MAILBOX_ADDRESS_LOW];
    exit.data = kind === EXIT_IO_IN ? UNANSWERED_READ : words[at + MAILBOX_DATA_LOW];
    exit.dataHigh = 0;
  } else {
    exit.kind = kind === EXIT_MMIO_READ ? 'mmio-read' : 'mmio-write';
    exit.address = words[at + MAILBOX_ADDRESS_LOW] + words[at + MAILBOX_ADDRESS_HIGH] * 0x1_0000_0000;
    exit.data = kind === EXIT_MMIO_READ ? UNANSWERED_READ : words[at + MAILBOX_DATA_LOW];
    exit.dataHigh = kind === EXIT_MMIO_READ ? UNANSWERED_READ : words[at + MAILBOX_DATA_HIGH];
  }
}

/** Receives every exit; the one exit switch lives in the VM. */
export type ExitHandler = (exit: VcpuExit) => void;

/**
 * The one object an accelerator reuses for every exit (no allocation per exit): it carries every member's
 * fields, and is handed out typed as VcpuExit so handlers narrow on `kind`. Do not keep it past the call.
 */
export interface ReusableExit {
  kind: VcpuExitKind;
  port: number;
  address: number;
  size: number;
  data: number;
  dataHigh: number;
  vector: number;
  access: UnmappedExit['access'];
  event: SystemEvent;
  message: string;
  code: number;
}

export function createReusableExit(): ReusableExit {
  return { kind: 'hlt', port: 0, address: 0, size: 0, data: 0, dataHigh: 0, vector: 0, access: 'read', event: 'shutdown', message: '', code: 0 };
}
