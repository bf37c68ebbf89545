import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import { readConfigBytes } from '../config-bytes';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_ID_NET } from '../constants';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { VirtioActivation, VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';
import type { NetBackend } from './net-backend';

/*
 * virtio-net (virtio 1.2 §5.1), one queue pair, no offloads. Every packet on either queue starts with a 12-byte
 * struct virtio_net_hdr (VERSION_1: num_buffers always present). Steps:
 *   transmit (queue 1): the driver makes readable chains available and notifies; the device strips the header,
 *     checks the frame length and hands the frame to the backend, then uses the chain with length 0;
 *   receive (queue 0): the driver keeps writable chains available (without VIRTIO_NET_F_MRG_RXBUF each must hold
 *     a whole frame plus header); a frame from the backend goes into the next one with a zeroed header
 *     (num_buffers = 1) and the chain is used with the bytes written. Frames arriving while the guest has no
 *     receive buffer wait in a bounded backlog; beyond it they are dropped and counted, as a NIC would.
 */

/** Feature: config holds the MAC address. */
export const VIRTIO_NET_F_MAC = 1n << 5n;
/** Feature: config holds the link status. */
export const VIRTIO_NET_F_STATUS = 1n << 16n;
/** Config offset of mac[6]. */
export const NET_CONFIG_MAC = 0;
/** Config offset of status (le16). */
export const NET_CONFIG_STATUS = 6;
/** Bytes of config space (through max_virtqueue_pairs, 1). */
export const NET_CONFIG_SIZE = 10;
/** status bit: the link is up. */
export const VIRTIO_NET_S_LINK_UP = 1;
/** Bytes of struct virtio_net_hdr with VERSION_1. */
export const VIRTIO_NET_HDR_SIZE = 12;
/** Offset of num_buffers in the header. */
const HDR_NUM_BUFFERS = 10;
/** Queue indices of the one pair. */
export const NET_RECEIVEQ = 0;
export const NET_TRANSMITQ = 1;
/** Size of both queues. */
export const NET_QUEUE_SIZE = 256;
/** Largest frame passed either way: 64 KiB plus an Ethernet header (no GSO is offered, so this is generous). */
export const NET_MAX_FRAME = 65536 + 14;
/** Smallest frame: an Ethernet header. */
export const NET_MIN_FRAME = 14;
/** Received frames held while the guest has no receive buffer. */
export const NET_RX_BACKLOG = 256;

export interface NetStats {
  txFrames: number;
  rxFrames: number;
  /** Frames dropped: backlog full, or a receive buffer too small. */
  rxDropped: number;
  /** Transmit chains refused (too short or too long). */
  txErrors: number;
}

export interface VirtioNetOptions {
  backend: NetBackend;
  /** Six bytes; default a locally administered address. */
  mac?: Uint8Array;
  logger?: WarnLogger;
  name?: string;
}

export class VirtioNet implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_NET;
  readonly deviceFeatures = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
  readonly queueMaxSizes: readonly number[] = [NET_QUEUE_SIZE, NET_QUEUE_SIZE];
  readonly stats: NetStats = { txFrames: 0, rxFrames: 0, rxDropped: 0, txErrors: 0 };
  private readonly config = new Uint8Array(NET_CONFIG_SIZE);
  private readonly errors: GuestErrorLog;
  /** Received frames dropped, logged rate-limited like guest errors (a guest that posts no buffers causes them). */
  private readonly drops: GuestErrorLog;
  private active: { rx?: VirtqueueHandle; tx?: VirtqueueHandle; interrupt: VirtioInterrupt } | undefined;
  private readonly backlog: Uint8Array[] = [];
  private readonly header = new Uint8Array(VIRTIO_NET_HDR_SIZE);

  constructor(private readonly options: VirtioNetOptions) {
    this.errors = new GuestErrorLog(options.name ?? 'virtio-net', options.logger ?? NULL_LOGGER);
    this.drops = new GuestErrorLog(`${options.name ?? 'virtio-net'} rx`, options.logger ?? NULL_LOGGER);
    const mac = options.mac ?? Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    if (mac.length !== 6) throw new RangeError('a MAC address is 6 bytes');
    this.config.set(mac, NET_CONFIG_MAC);
    new DataView(this.config.buffer).setUint16(NET_CONFIG_STATUS, VIRTIO_NET_S_LINK_UP, true);
    new DataView(this.header.buffer).setUint16(HDR_NUM_BUFFERS, 1, true);
    options.backend.onReceive((frame) => this.receive(frame));
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    // The MAC is writable only with VIRTIO_NET_F_CTRL_MAC_ADDR's legacy path; nothing here is.
    this.errors.report(`config write of ${size} bytes at ${offset} ignored (read-only config)`, { offset, size, value });
  }

  activate(context: VirtioActivation): void {
    this.active = { rx: context.queues[NET_RECEIVEQ], tx: context.queues[NET_TRANSMITQ], interrupt: context.interrupt };
    this.deliver();
  }

  notify(queueIndex: number): void {
    try {
      if (queueIndex === NET_RECEIVEQ) this.deliver();
      else if (queueIndex === NET_TRANSMITQ) this.transmit();
      else this.errors.report(`notify for queue ${queueIndex} ignored (no such queue)`);
    } catch (err) {
      this.errors.report(`queue ${queueIndex} processing failed: ${String(err)}`);
    }
  }

  reset(): void {
    this.active = undefined;
    this.backlog.length = 0;
  }

  /** A frame from the backend for the guest. */
  private receive(frame: Uint8Array): void {
    const why =
      frame.length < NET_MIN_FRAME || frame.length > NET_MAX_FRAME ? `a ${frame.length}-byte frame is no Ethernet frame`
      : !this.active ? 'the driver is not ready'
      : this.backlog.length >= NET_RX_BACKLOG ? `receive backlog full (${NET_RX_BACKLOG} frames waiting for guest buffers)`
      : undefined;
    if (why !== undefined) {
      this.stats.rxDropped++;
      this.drops.report(`frame dropped: ${why}`);
      return;
    }
    this.backlog.push(frame);
    try {
      this.deliver();
    } catch (err) {
      this.errors.report(`receive failed: ${String(err)}`);
    }
  }

  private transmit(): void {
    const queue = this.active?.tx;
    if (!queue) return;
    for (let chain = queue.pop(); chain !== undefined; chain = queue.pop()) {
      const length = chain.readableLength - VIRTIO_NET_HDR_SIZE;
      if (length < NET_MIN_FRAME || length > NET_MAX_FRAME) {
        this.stats.txErrors++;
        this.errors.report(`transmit chain at head ${chain.head}: frame of ${length} bytes refused`);
      } else {
        this.options.backend.send(chain.readBytes(VIRTIO_NET_HDR_SIZE, length));
        this.stats.txFrames++;
      }
      queue.pushUsed(chain.head, 0);
    }
    if (queue.needsInterrupt()) this.active!.interrupt.signalUsed(NET_TRANSMITQ);
  }

  private deliver(): void {
    const queue = this.active?.rx;
    if (!queue) return;
    while (this.backlog.length > 0) {
      const chain = queue.pop();
      if (chain === undefined) break;
      const frame = this.backlog.shift()!;
      if (chain.writableLength < VIRTIO_NET_HDR_SIZE + frame.length) {
        this.stats.rxDropped++;
        this.errors.report(`receive chain at head ${chain.head} of ${chain.writableLength} bytes cannot hold a ${frame.length}-byte frame`);
        queue.pushUsed(chain.head, 0);
        continue;
      }
      chain.writeBytes(0, this.header);
      chain.writeBytes(VIRTIO_NET_HDR_SIZE, frame);
      queue.pushUsed(chain.head, VIRTIO_NET_HDR_SIZE + frame.length);
      this.stats.rxFrames++;
    }
    if (queue.needsInterrupt()) this.active!.interrupt.signalUsed(NET_RECEIVEQ);
  }
}
