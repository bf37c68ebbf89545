import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import { readConfigBytes } from '../config-bytes';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_ID_CONSOLE } from '../constants';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { VirtioActivation, VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';

/*
 * virtio-console (virtio 1.2 §5.3) with a single port (no VIRTIO_CONSOLE_F_MULTIPORT): queue 0 is port 0's
 * receiveq (host → guest: the driver makes device-writable buffers available, the device fills them with input),
 * queue 1 its transmitq (guest → host: readable buffers, handed to the host stream and used with length 0).
 * With VIRTIO_CONSOLE_F_EMERG_WRITE a driver may also write single bytes to the emerg_wr config field before the
 * queues exist. Host input that arrives while the guest has no receive buffer waits, bounded.
 */

/** Feature: cols/rows in config are valid. */
export const VIRTIO_CONSOLE_F_SIZE = 1n << 0n;
/** Feature: emerg_wr in config takes early output, one byte per write. */
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 1n << 2n;
/** Config offset of cols (le16). */
export const CONSOLE_CONFIG_COLS = 0;
/** Config offset of rows (le16). */
export const CONSOLE_CONFIG_ROWS = 2;
/** Config offset of max_nr_ports (le32; meaningful with MULTIPORT only). */
export const CONSOLE_CONFIG_MAX_NR_PORTS = 4;
/** Config offset of emerg_wr (le32, write-only: the low byte is output). */
export const CONSOLE_CONFIG_EMERG_WR = 8;
/** Bytes of config space. */
export const CONSOLE_CONFIG_SIZE = 12;
/** Queue index of port 0's receiveq. */
export const CONSOLE_RECEIVEQ = 0;
/** Queue index of port 0's transmitq. */
export const CONSOLE_TRANSMITQ = 1;
/** Size of both queues. */
export const CONSOLE_QUEUE_SIZE = 128;
/** Host input held while the guest has no receive buffers; beyond it input is dropped (and logged). */
export const CONSOLE_MAX_PENDING_INPUT = 64 * 1024;
/** Most bytes taken from one transmit chain: a guest naming gigabytes of output gets only this much passed on. */
export const CONSOLE_MAX_OUTPUT_PER_CHAIN = 64 * 1024;

export interface VirtioConsoleOptions {
  /** Where guest output goes (a console hub, a socket, a file). */
  output: (bytes: Uint8Array) => void;
  cols?: number;
  rows?: number;
  logger?: WarnLogger;
  name?: string;
  /** The guest took held input into its receive buffers: there is room for more (see offerInput). */
  onInputDrained?: () => void;
}

interface Active {
  receive: VirtqueueHandle | undefined;
  transmit: VirtqueueHandle | undefined;
  interrupt: VirtioInterrupt;
}

export class VirtioConsole implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_CONSOLE;
  readonly deviceFeatures =
    VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX | VIRTIO_CONSOLE_F_SIZE | VIRTIO_CONSOLE_F_EMERG_WRITE;
  readonly queueMaxSizes: readonly number[] = [CONSOLE_QUEUE_SIZE, CONSOLE_QUEUE_SIZE];
  private readonly config = new Uint8Array(CONSOLE_CONFIG_SIZE);
  private readonly errors: GuestErrorLog;
  private readonly logger: WarnLogger;
  private active: Active | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Host input bytes dropped because the guest was not reading, for stats and tests. */
  droppedInput = 0;

  constructor(private readonly options: VirtioConsoleOptions) {
    this.logger = options.logger ?? NULL_LOGGER;
    this.errors = new GuestErrorLog(options.name ?? 'virtio-console', this.logger);
    const view = new DataView(this.config.buffer);
    view.setUint16(CONSOLE_CONFIG_COLS, options.cols ?? 80, true);
    view.setUint16(CONSOLE_CONFIG_ROWS, options.rows ?? 25, true);
    view.setUint32(CONSOLE_CONFIG_MAX_NR_PORTS, 1, true);
  }

  /** Host input for the guest: delivered into receive buffers now, or held (bounded) until the guest posts some. */
  receive(bytes: Uint8Array): void {
    const taken = this.offerInput(bytes);
    this.droppedInput += bytes.length - taken;
  }

  /**
   * Host input with backpressure: takes as much as fits in the bounded hold and returns how many bytes it took;
   * the caller keeps the rest and offers it again at onInputDrained (as a UART's receive FIFO drains).
   */
  offerInput(bytes: Uint8Array): number {
    const taken = Math.max(0, Math.min(bytes.length, CONSOLE_MAX_PENDING_INPUT - this.pendingBytes));
    if (taken === 0) return 0;
    this.pending.push(Uint8Array.from(bytes.subarray(0, taken)));
    this.pendingBytes += taken;
    this.deliver();
    return taken;
  }

  /** Input bytes waiting for guest receive buffers. */
  get pendingInput(): number {
    return this.pendingBytes;
  }

  readConfig(offset: number, size: number): number {
    if (offset >= CONSOLE_CONFIG_EMERG_WR) return 0; // emerg_wr is write-only
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    if (offset === CONSOLE_CONFIG_EMERG_WR) {
      this.options.output(Uint8Array.of(value & 0xff));
      return;
    }
    this.errors.report(`config write of ${size} bytes at ${offset} ignored (read-only field)`, { offset, size, value });
  }

  activate(context: VirtioActivation): void {
    this.active = {
      receive: context.queues[CONSOLE_RECEIVEQ],
      transmit: context.queues[CONSOLE_TRANSMITQ],
      interrupt: context.interrupt,
    };
    this.deliver();
  }

  notify(queueIndex: number): void {
    try {
      if (queueIndex === CONSOLE_RECEIVEQ) this.deliver();
      else if (queueIndex === CONSOLE_TRANSMITQ) this.transmit();
      else this.errors.report(`notify for queue ${queueIndex} ignored (no such queue)`);
    } catch (err) {
      this.errors.report(`queue ${queueIndex} processing failed: ${String(err)}`);
    }
  }

  reset(): void {
    // Held input stays: it is the host's, and a rebooting guest's new driver can still read it.
    this.active = undefined;
  }

  private transmit(): void {
    const queue = this.active?.transmit;
    if (!queue) return;
    for (let chain = queue.pop(); chain !== undefined; chain = queue.pop()) {
      if (chain.readableLength > CONSOLE_MAX_OUTPUT_PER_CHAIN) {
        this.errors.report(`transmit chain at head ${chain.head} of ${chain.readableLength} bytes cut to ${CONSOLE_MAX_OUTPUT_PER_CHAIN}`);
      }
      const bytes = chain.readBytes(0, Math.min(chain.readableLength, CONSOLE_MAX_OUTPUT_PER_CHAIN));
      if (bytes.length > 0) this.options.output(bytes);
      queue.pushUsed(chain.head, 0);
    }
    if (queue.needsInterrupt()) this.active!.interrupt.signalUsed(CONSOLE_TRANSMITQ);
  }

  /** Moves held input into the guest's receive buffers, as far as both go. */
  private deliver(): void {
    const queue = this.active?.receive;
    if (!queue || this.pendingBytes === 0) return;
    const held = this.pendingBytes;
    while (this.pendingBytes > 0) {
      const chain = queue.pop();
      if (chain === undefined) break;
      let written = 0;
      while (this.pending.length > 0 && written < chain.writableLength) {
        const head = this.pending[0];
        const n = chain.writeBytes(written, head.subarray(0, chain.writableLength - written));
        written += n;
        this.pendingBytes -= n;
        if (n === head.length) this.pending.shift();
        else this.pending[0] = head.subarray(n);
      }
      if (chain.writableLength === 0) this.errors.report(`receive chain at head ${chain.head} has no device-writable buffer`);
      queue.pushUsed(chain.head, written);
    }
    if (queue.needsInterrupt()) this.active!.interrupt.signalUsed(CONSOLE_RECEIVEQ);
    if (this.pendingBytes < held) this.options.onInputDrained?.();
  }
}
