import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import type { GuestMemoryMap } from '../../memory/guest-memory-map';
import { readConfigBytes } from '../config-bytes';
import {
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_BLOCK,
} from '../constants';
import type { DescriptorChain } from '../queue/descriptor-chain';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { VirtioActivation, VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';
import {
  BLK_SIZE_MAX,
  buildBlkConfig,
  SECTOR_SIZE,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_SIZE_MAX,
} from './blk-config';
import { BouncePool } from './bounce-pool';
import type { BlockBackend } from './raw-file-backend';

/*
 * virtio-blk (virtio 1.2 §5.2): one request queue. A request is one chain:
 *   device-readable: struct virtio_blk_req header {le32 type, le32 reserved, le64 sector}, then for OUT the data;
 *   device-writable: for IN the data buffer, for GET_ID 20 bytes, and always a final status byte.
 * Framing follows bytes, not descriptors (VERSION_1 implies ANY_LAYOUT). Steps per request: parse and check the
 * header and lengths (data a whole number of sectors, sector + length within capacity, OUT refused on read-only
 * disks), start the backend I/O (asynchronous; requests complete in any order), then write the status byte, add
 * the used entry and interrupt the driver. A reset while requests are in flight drops their completions: nothing
 * is written into guest RAM for a queue the driver has taken back.
 */

/** Request type: read sectors into the writable data. */
export const VIRTIO_BLK_T_IN = 0;
/** Request type: write the readable data to sectors. */
export const VIRTIO_BLK_T_OUT = 1;
/** Request type: make completed writes durable. */
export const VIRTIO_BLK_T_FLUSH = 4;
/** Request type: return the device serial (20 bytes, NUL-padded, not NUL-terminated when 20 long). */
export const VIRTIO_BLK_T_GET_ID = 8;
/** Status: success. */
export const VIRTIO_BLK_S_OK = 0;
/** Status: the request failed (bad sectors, read-only disk, backend error). */
export const VIRTIO_BLK_S_IOERR = 1;
/** Status: the request type is not supported. */
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Bytes of the request header. */
export const BLK_REQUEST_HEADER_SIZE = 16;
/** Bytes of a GET_ID answer. */
export const VIRTIO_BLK_ID_BYTES = 20;
/** Default (and largest offered) size of the request queue. */
export const BLK_QUEUE_SIZE = 256;
/** Largest bounce buffer one request uses for reads: a huge request is served in slices, memory stays bounded. */
export const BLK_IO_SLICE = 256 * 1024;
/** Idle read buffers kept for reuse (a queue depth's worth; 8 MiB at most). */
const BLK_IDLE_BOUNCE_BUFFERS = 32;

export interface VirtioBlkOptions {
  backend: BlockBackend;
  /** GET_ID answer: up to 20 bytes of ASCII. */
  serial?: string;
  queueSize?: number;
  logger?: WarnLogger;
  name?: string;
}

interface Active {
  memory: GuestMemoryMap;
  queue: VirtqueueHandle;
  interrupt: VirtioInterrupt;
  generation: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_BLOCK;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes: readonly number[];
  /** Capacity in 512-byte sectors (a trailing partial sector of the image is not exposed). */
  readonly capacity: bigint;
  private readonly config: Uint8Array;
  private readonly serial: Uint8Array;
  private readonly backend: BlockBackend;
  private readonly errors: GuestErrorLog;
  private readonly logger: WarnLogger;
  private active: Active | undefined;
  private generation = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly bounce = new BouncePool(BLK_IO_SLICE, BLK_IDLE_BOUNCE_BUFFERS);
  /** Requests completed (used entries added), for stats and tests. */
  completed = 0;

  constructor(options: VirtioBlkOptions) {
    this.backend = options.backend;
    this.logger = options.logger ?? NULL_LOGGER;
    const name = options.name ?? 'virtio-blk';
    this.errors = new GuestErrorLog(name, this.logger);
    const queueSize = options.queueSize ?? BLK_QUEUE_SIZE;
    if (!Number.isInteger(queueSize) || queueSize < 4 || queueSize > BLK_QUEUE_SIZE || (queueSize & (queueSize - 1)) !== 0) {
      throw new RangeError(`virtio-blk queue size ${queueSize} is not a power of two in 4..${BLK_QUEUE_SIZE}`);
    }
    this.queueMaxSizes = [queueSize];
    const serial = Buffer.from(options.serial ?? '', 'ascii');
    if (serial.length > VIRTIO_BLK_ID_BYTES) throw new RangeError(`virtio-blk serial longer than ${VIRTIO_BLK_ID_BYTES} bytes`);
    this.serial = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.serial.set(serial);
    this.capacity = BigInt(Math.floor(this.backend.size / SECTOR_SIZE));
    this.config = buildBlkConfig({
      capacitySectors: this.capacity,
      sizeMax: BLK_SIZE_MAX,
      segMax: queueSize - 2, // the header and the status byte take a descriptor each
      blkSize: SECTOR_SIZE,
    });
    this.deviceFeatures =
      VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX | VIRTIO_BLK_F_SIZE_MAX | VIRTIO_BLK_F_SEG_MAX |
      VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | (this.backend.readOnly ? VIRTIO_BLK_F_RO : 0n);
  }

  /** Requests started and not yet completed. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Guest errors seen by the device (malformed requests); queue errors are counted by the queue. */
  get guestErrors(): number {
    return this.errors.count;
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    // writeback is writable only with VIRTIO_BLK_F_CONFIG_WCE, which is not offered: every field is read-only.
    this.errors.report(`config write of ${size} bytes at ${offset} ignored (read-only config)`, { offset, size, value });
  }

  activate(context: VirtioActivation): void {
    this.generation++;
    const queue = context.queues[0];
    if (queue === undefined) {
      this.errors.report('activated without its request queue');
      this.active = undefined;
      return;
    }
    this.active = { memory: context.memory, queue, interrupt: context.interrupt, generation: this.generation };
  }

  notify(queueIndex: number): void {
    const active = this.active;
    if (queueIndex !== 0 || active === undefined) {
      this.errors.report(`notify for queue ${queueIndex} ignored (${active ? 'no such queue' : 'not activated'})`);
      return;
    }
    try {
      for (let chain = active.queue.pop(); chain !== undefined; chain = active.queue.pop()) this.start(active, chain);
    } catch (err) {
      // Never let a guest-triggered failure escape into the vCPU's exit path.
      this.errors.report(`request processing failed: ${String(err)}`);
    }
    // Chains the queue refused were given back with length 0: the driver must hear about those too.
    this.signal(active);
  }

  reset(): void {
    this.generation++;
    this.active = undefined;
  }

  /** Resolves once no request is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private start(active: Active, chain: DescriptorChain): void {
    if (chain.readableLength < BLK_REQUEST_HEADER_SIZE || chain.writableLength < 1) {
      this.errors.report(
        `request at head ${chain.head} has ${chain.readableLength} readable / ${chain.writableLength} writable bytes: no room for header and status`,
      );
      active.queue.pushUsed(chain.head, 0);
      this.signal(active);
      return;
    }
    const header = new DataView(chain.readBytes(0, BLK_REQUEST_HEADER_SIZE).buffer);
    const type = header.getUint32(0, true);
    const sector = header.getBigUint64(8, true);
    const work = this.serve(active, chain, type, sector).catch((err: unknown) => {
      this.logger.warn({ err: String(err) }, `virtio-blk: request at head ${chain.head} failed unexpectedly`);
      return { status: VIRTIO_BLK_S_IOERR, written: 0 };
    });
    const done: Promise<void> = work.then(({ status, written }) => {
      this.pending.delete(done);
      this.complete(active, chain, status, written);
    });
    this.pending.add(done);
  }

  /** Does the request; resolves with the status and the data bytes written into the chain. */
  private async serve(
    active: Active,
    chain: DescriptorChain,
    type: number,
    sector: bigint,
  ): Promise<{ status: number; written: number }> {
    const dataWritable = chain.writableLength - 1;
    switch (type) {
      case VIRTIO_BLK_T_IN:
      case VIRTIO_BLK_T_OUT: {
        const out = type === VIRTIO_BLK_T_OUT;
        const length = out ? chain.readableLength - BLK_REQUEST_HEADER_SIZE : dataWritable;
        const fault = this.checkTransfer(sector, length, out);
        if (fault !== undefined) {
          this.errors.report(`${out ? 'OUT' : 'IN'} at head ${chain.head}: ${fault}`, { sector: sector.toString(), length });
          return { status: VIRTIO_BLK_S_IOERR, written: 0 };
        }
        const position = Number(sector) * SECTOR_SIZE;
        try {
          if (out) await this.writeOut(active, chain, position, length);
          else if (!(await this.readIn(active, chain, position, length))) return { status: VIRTIO_BLK_S_IOERR, written: 0 };
        } catch (err) {
          this.logger.warn({ err: String(err), position, length }, `virtio-blk: backend ${out ? 'write' : 'read'} failed`);
          return { status: VIRTIO_BLK_S_IOERR, written: 0 };
        }
        return { status: VIRTIO_BLK_S_OK, written: out ? 0 : length };
      }
      case VIRTIO_BLK_T_FLUSH:
        try {
          await this.backend.flush();
          return { status: VIRTIO_BLK_S_OK, written: 0 };
        } catch (err) {
          this.logger.warn({ err: String(err) }, 'virtio-blk: flush failed');
          return { status: VIRTIO_BLK_S_IOERR, written: 0 };
        }
      case VIRTIO_BLK_T_GET_ID: {
        const written = chain.writeBytes(0, this.serial.subarray(0, Math.min(VIRTIO_BLK_ID_BYTES, dataWritable)));
        return { status: VIRTIO_BLK_S_OK, written };
      }
      default:
        return { status: VIRTIO_BLK_S_UNSUPP, written: 0 };
    }
  }

  /** Why an IN/OUT of `length` bytes at `sector` cannot be done, or undefined. */
  private checkTransfer(sector: bigint, length: number, out: boolean): string | undefined {
    if (out && this.backend.readOnly) return 'the disk is read-only';
    if (length % SECTOR_SIZE !== 0) return `data length ${length} is not a multiple of ${SECTOR_SIZE}`;
    if (sector + BigInt(length / SECTOR_SIZE) > this.capacity) {
      return `sectors ${sector}+${length / SECTOR_SIZE} run past the capacity ${this.capacity}`;
    }
    return undefined;
  }

  /** Reads the disk into the chain's writable data, a slice at a time; false when the image ended early. */
  private async readIn(active: Active, chain: DescriptorChain, position: number, length: number): Promise<boolean> {
    const bounce = this.bounce.take();
    try {
      let at = position;
      for (const range of chain.writableRanges(0, length)) {
        for (let done = 0; done < range.len; ) {
          const n = Math.min(bounce.length, range.len - done);
          const slice = bounce.subarray(0, n);
          if ((await this.backend.read(slice, at)) !== n) return false;
          if (active.generation !== this.generation) return true; // reset meanwhile: touch no guest RAM
          active.memory.write(range.addr + done, slice);
          done += n;
          at += n;
        }
      }
      return true;
    } finally {
      this.bounce.release(bounce);
    }
  }

  /** Writes the chain's readable data (after the header) to the disk, straight from guest RAM. */
  private async writeOut(active: Active, chain: DescriptorChain, position: number, length: number): Promise<void> {
    let at = position;
    for (const range of chain.readableRanges(BLK_REQUEST_HEADER_SIZE, length)) {
      if (active.generation !== this.generation) return;
      await this.backend.write(active.memory.view(range.addr, range.len), at);
      at += range.len;
    }
  }

  private complete(active: Active, chain: DescriptorChain, status: number, written: number): void {
    if (active.generation !== this.generation) return; // the driver reset the device: drop the completion
    try {
      chain.writeBytes(chain.writableLength - 1, Uint8Array.of(status));
    } catch (err) {
      this.errors.report(`status write at head ${chain.head} failed: ${String(err)}`);
    }
    active.queue.pushUsed(chain.head, written + 1);
    this.completed++;
    this.signal(active);
  }

  private signal(active: Active): void {
    if (active.queue.needsInterrupt()) active.interrupt.signalUsed(0);
  }
}
