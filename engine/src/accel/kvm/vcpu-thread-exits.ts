/**
 * The loop-thread side of a vCPU running on its own native thread (DESIGN.md: one native thread per vCPU; writes
 * posted, reads waited for). Steps of drainSlice():
 *   1. take a batch of exit records (waiting up to the time left in the slice for the first);
 *   2. hand each to the one exit switch in order, through one reused exit object: posted writes first, as the
 *      guest issued them;
 *   3. a read (IN, MMIO load) can only end a batch, since the vCPU waits for it: answer it with what the handler set;
 *   4. a final record (HLT, shutdown, system event, error, stopped) ends the slice with its outcome, and the thread;
 *   5. otherwise go on until the slice is over, or a handler asked to end it (endSlice), then return to the event
 *      loop while the vCPU runs on. A batch taken is always handled whole: its exits already happened.
 * halt() stops the vCPU for good (pause, reset, register access): the thread is asked to stop and drained, every
 * read answered, until its STOPPED record.
 */
import type { NativeVcpuThread } from '../../native/addon';
import type { SliceOutcome } from '../accelerator';
import {
  createReusableExit,
  EXIT_IO_IN,
  EXIT_IO_OUT,
  EXIT_MMIO_READ,
  EXIT_MMIO_WRITE,
  MAILBOX_DETAIL,
  MAILBOX_KIND,
  readAccessRecord,
  type ExitHandler,
  type ReusableExit,
  type SystemEvent,
  type VcpuExit,
} from '../exit';
import { KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN } from './kvm-abi';

/** u32 words per record (engine/native/src/kvm-exit-channel.h ExitRecord). */
export const RECORD_WORDS = 8;
/** Record word: kind (EXIT_* or THREAD_EXIT_*); access records are laid out as the mailbox (readAccessRecord). */
export const RECORD_KIND = MAILBOX_KIND;
/** Record word: error code or exception vector of a final record. */
export const RECORD_DETAIL = MAILBOX_DETAIL;
/** Ring size: the most records one take returns. */
export const RING_RECORDS = 256;
/** Final record: the guest halted. */
export const THREAD_EXIT_HLT = 5;
/** Final record: the thread ended on request. */
export const THREAD_EXIT_STOPPED = 6;
/** Final record: the CPU failed (detail: errno, uc_err or exit reason). */
export const THREAD_EXIT_ERROR = 7;
/** Final record: triple fault (detail: exception vector on the emulated CPU). */
export const THREAD_EXIT_SHUTDOWN = 8;
/** Final record: KVM_EXIT_SYSTEM_EVENT (detail: KVM_SYSTEM_EVENT_* type). */
export const THREAD_EXIT_SYSTEM_EVENT = 9;
/** The KVM_SYSTEM_EVENT_* types the platform acts on. */
const SYSTEM_EVENTS = new Map<number, SystemEvent>([
  [KVM_SYSTEM_EVENT_SHUTDOWN, 'shutdown'],
  [KVM_SYSTEM_EVENT_RESET, 'reset'],
  [KVM_SYSTEM_EVENT_CRASH, 'crash'],
]);

/** How long halt() waits per round for the thread's last records (it leaves at its next exit). */
const HALT_DRAIN_MICROS = 10_000;

export class VcpuThreadExits {
  private readonly records = new Uint32Array(RING_RECORDS * RECORD_WORDS);
  private readonly exit: ReusableExit = createReusableExit();
  /** Exits handed to the handler so far (for figures). */
  exits = 0;
  /** A final record arrived: the thread has left (join it; the vCPU runs again only on a new thread). */
  ended = false;
  private sliceEndRequested = false;

  constructor(
    private readonly thread: NativeVcpuThread,
    private readonly handleExit: ExitHandler,
  ) {}

  /** Ends the current slice after the batch in hand (or the next slice at once); the vCPU runs on. */
  endSlice(): void {
    this.sliceEndRequested = true;
  }

  /** Stops the vCPU: asks the thread to stop and handles its remaining exits until the final record. */
  halt(): void {
    if (this.ended) return;
    this.thread.requestStop();
    while (!this.ended) this.drainSlice(HALT_DRAIN_MICROS);
  }

  /** Steps 1-5 for at most sliceMicros. */
  drainSlice(sliceMicros: number): SliceOutcome {
    if (this.ended) return 'stop-requested';
    const deadline = performance.now() + sliceMicros / 1000;
    const r = this.records;
    const exit = this.exit;
    for (;;) {
      if (this.sliceEndRequested) {
        this.sliceEndRequested = false;
        return 'stop-requested';
      }
      const left = Math.max(0, Math.round((deadline - performance.now()) * 1000));
      const count = this.thread.take(r, left);
      for (let i = 0; i < count; i++) {
        const at = i * RECORD_WORDS;
        const kind = r[at + RECORD_KIND];
        switch (kind) {
          case EXIT_IO_IN:
          case EXIT_IO_OUT:
          case EXIT_MMIO_READ:
          case EXIT_MMIO_WRITE:
            readAccessRecord(r, at, exit);
            break;
          case THREAD_EXIT_STOPPED:
            this.ended = true;
            return 'stop-requested';
          case THREAD_EXIT_HLT:
            this.ended = true;
            exit.kind = 'hlt';
            this.handleExit(exit as VcpuExit);
            return 'hlt';
          case THREAD_EXIT_SHUTDOWN:
            this.ended = true;
            exit.kind = 'shutdown';
            this.handleExit(exit as VcpuExit);
            return 'exception';
          case THREAD_EXIT_SYSTEM_EVENT: {
            this.ended = true;
            const event = SYSTEM_EVENTS.get(r[at + RECORD_DETAIL]);
            if (event === undefined) {
              exit.kind = 'internal-error';
              exit.code = r[at + RECORD_DETAIL];
              exit.message = `KVM_EXIT_SYSTEM_EVENT of unknown type ${exit.code}`;
              this.handleExit(exit as VcpuExit);
              return 'internal-error';
            }
            exit.kind = 'system-event';
            exit.event = event;
            this.handleExit(exit as VcpuExit);
            return 'stop-requested';
          }
          default:
            this.ended = true;
            exit.kind = 'internal-error';
            exit.code = r[at + RECORD_DETAIL];
            exit.message = kind === THREAD_EXIT_ERROR ? `vCPU thread failed with code ${exit.code}` : `unknown vCPU thread record ${kind}`;
            this.handleExit(exit as VcpuExit);
            return 'internal-error';
        }
        this.exits++;
        this.handleExit(exit as VcpuExit);
        if (kind === EXIT_IO_IN || kind === EXIT_MMIO_READ) this.thread.answer(exit.data >>> 0, exit.dataHigh >>> 0);
      }
      if (performance.now() >= deadline) return 'slice-end';
    }
  }
}
