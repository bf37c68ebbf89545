import type { WarnLogger } from '../../bus/warn-logger';
import { hex } from '../../bus/warn-logger';
import { GuestMemoryError, type GuestMemoryMap } from '../../memory/guest-memory-map';
import { MAX_QUEUE_SIZE, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC } from '../constants';
import type { VirtqueueHandle, VirtqueueLayout } from '../virtio-device';
import { DescriptorChain, type BufferSegment } from './descriptor-chain';
import { GuestErrorLog } from './guest-error-log';

/*
 * The device side of a split virtqueue (virtio 1.2 §2.7). The driver owns three areas in guest RAM:
 *   descriptor table  size × {le64 addr, le32 len, le16 flags, le16 next}, 16-byte aligned
 *   available ring    le16 flags, le16 idx, le16 ring[size], le16 used_event, 2-byte aligned
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event, 4-byte aligned
 * Steps: the driver writes a chain's descriptors, puts its head in avail.ring[idx % size], bumps avail.idx and
 * notifies; the device takes heads from its last_avail_idx up to avail.idx (pop), walks each chain, does the
 * work, writes {head, bytes written} to used.ring[used_idx % size], bumps used.idx (pushUsed) and interrupts the
 * driver unless it asked not to be (needsInterrupt: VIRTQ_AVAIL_F_NO_INTERRUPT or, with VIRTIO_F_EVENT_IDX, the
 * used_event threshold).
 *
 * Everything the guest wrote is checked before use, and values are copied out of guest RAM once:
 *   - the areas themselves: aligned and wholly inside guest RAM, or the queue is broken from the start;
 *   - avail.idx may run ahead of last_avail_idx by at most size: a bigger jump means the ring is corrupt, so the
 *     queue is marked broken (§2.1.2 lets a device ask for a reset: onBroken, DEVICE_NEEDS_RESET) and serves
 *     nothing more until reset; a head index >= size breaks it the same way;
 *   - a chain: each next < table size; at most `size` descriptors (a loop is cut off there, never followed);
 *     every non-empty buffer inside guest RAM; device-readable buffers before device-writable ones; total
 *     lengths within 32 bits; indirect tables (VIRTIO_F_INDIRECT_DESC only) a non-zero multiple of 16 bytes
 *     inside RAM, at most `size` entries, not nested, not combined with NEXT. A chain that breaks a rule is
 *     logged (rate-limited), given back to the driver as used with length 0 (so its buffers are not leaked) and
 *     skipped; the queue goes on with the next one.
 */

/** Descriptor flag: the chain continues at `next`. */
export const VIRTQ_DESC_F_NEXT = 1;
/** Descriptor flag: the buffer is device-writable (otherwise device-readable). */
export const VIRTQ_DESC_F_WRITE = 2;
/** Descriptor flag: the buffer holds an indirect descriptor table. */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Available ring flag: the driver does not want interrupts (ignored with VIRTIO_F_EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

/** Bytes per descriptor. */
export const DESCRIPTOR_SIZE = 16;
/** Bytes per used ring element {id, len}. */
const USED_ELEMENT_SIZE = 8;
/** Bytes of the flags and idx fields that open both rings. */
const RING_HEADER_SIZE = 4;
/** Alignment of the descriptor table, available ring and used ring (§2.7). */
const DESC_ALIGN = 16;
const AVAIL_ALIGN = 2;
const USED_ALIGN = 4;
/** Largest total length of either part of a chain: used lengths are 32-bit. */
export const MAX_CHAIN_BYTES = 0xffff_ffff;

/** A rule of §2.7 a chain broke. */
export class ChainError extends Error {}

export interface SplitQueueOptions {
  /** Negotiated features: VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX change what the queue accepts and does. */
  features?: bigint;
  /** Names the queue in logs, e.g. "virtio-blk q0". */
  name?: string;
  /** Called once when the queue is found corrupt; a transport sets DEVICE_NEEDS_RESET and signals config. */
  onBroken?: () => void;
}

export class SplitQueue implements VirtqueueHandle {
  readonly size: number;
  private lastAvail = 0;
  private used = 0;
  /** used.idx when needsInterrupt() last answered: the interval the driver may want an interrupt for. */
  private signalledUsed = 0;
  private isBroken = false;
  private readonly indirect: boolean;
  private readonly eventIdx: boolean;
  private readonly errors: GuestErrorLog;
  /** Staging for used-ring writes (a used element is 8 bytes), reused: the hot path allocates nothing. */
  private readonly scratch = new Uint8Array(USED_ELEMENT_SIZE);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(
    private readonly memory: GuestMemoryMap,
    readonly layout: VirtqueueLayout,
    logger: WarnLogger,
    private readonly options: SplitQueueOptions = {},
  ) {
    const features = options.features ?? 0n;
    this.indirect = (features & VIRTIO_F_INDIRECT_DESC) !== 0n;
    this.eventIdx = (features & VIRTIO_F_EVENT_IDX) !== 0n;
    this.errors = new GuestErrorLog(options.name ?? 'virtqueue', logger);
    this.size = layout.size;
    const problem = checkLayout(memory, layout);
    if (problem !== undefined) this.markBroken(problem);
  }

  get broken(): boolean {
    return this.isBroken;
  }

  /** Guest errors seen on this queue (bad chains, corruption). */
  get errorCount(): number {
    return this.errors.count;
  }

  /** The device's last_avail_idx: heads taken so far, modulo 2^16. */
  get lastAvailIdx(): number {
    return this.lastAvail;
  }

  /** The device's used.idx: used entries written so far, modulo 2^16. */
  get usedIdx(): number {
    return this.used;
  }

  /** The next well-formed available chain, or undefined when there is none (or the queue is broken). */
  pop(): DescriptorChain | undefined {
    while (!this.isBroken) {
      let head: number;
      try {
        const availIdx = this.memory.readU16(this.layout.availRing + 2);
        if (availIdx === this.lastAvail) return undefined;
        const pending = (availIdx - this.lastAvail) & 0xffff;
        if (pending > this.size) {
          this.markBroken(`avail.idx ${availIdx} is ${pending} ahead of last_avail_idx ${this.lastAvail} (queue size ${this.size})`);
          return undefined;
        }
        head = this.memory.readU16(this.layout.availRing + RING_HEADER_SIZE + 2 * (this.lastAvail % this.size));
        this.lastAvail = (this.lastAvail + 1) & 0xffff;
        if (this.eventIdx) this.writeU16(this.availEventAddr(), this.lastAvail);
      } catch (err) {
        this.markBroken(`ring access failed: ${String(err)}`);
        return undefined;
      }
      if (head >= this.size) {
        this.markBroken(`available head ${head} is not below the queue size ${this.size}`);
        return undefined;
      }
      try {
        return this.walk(head);
      } catch (err) {
        if (!(err instanceof ChainError) && !(err instanceof GuestMemoryError)) throw err;
        this.errors.report(`chain at head ${head} skipped: ${err.message}`, { head });
        this.pushUsed(head, 0);
      }
    }
    return undefined;
  }

  /** Gives a chain back to the driver: `written` bytes were written into its device-writable part. */
  pushUsed(head: number, written: number): void {
    if (this.isBroken) return;
    try {
      const element = this.layout.usedRing + RING_HEADER_SIZE + USED_ELEMENT_SIZE * (this.used % this.size);
      this.scratchView.setUint32(0, head, true);
      this.scratchView.setUint32(4, written, true);
      this.memory.write(element, this.scratch);
      this.used = (this.used + 1) & 0xffff;
      this.writeU16(this.layout.usedRing + 2, this.used);
    } catch (err) {
      this.markBroken(`used ring write failed: ${String(err)}`);
    }
  }

  /**
   * Whether the driver wants an interrupt for the used entries added since the last call: with EVENT_IDX when
   * used.idx passed used_event in that interval (§2.7.10), otherwise unless VIRTQ_AVAIL_F_NO_INTERRUPT is set.
   */
  needsInterrupt(): boolean {
    const old = this.signalledUsed;
    const now = this.used;
    this.signalledUsed = now;
    if (now === old || this.isBroken) return false;
    try {
      if (this.eventIdx) {
        const usedEvent = this.memory.readU16(this.layout.availRing + RING_HEADER_SIZE + 2 * this.size);
        return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
      }
      return (this.memory.readU16(this.layout.availRing) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    } catch {
      return true;
    }
  }

  /** A 16-bit ring field written through the one coherent write path, without allocating per call. */
  private writeU16(gpa: number, value: number): void {
    this.scratchView.setUint16(0, value, true);
    this.memory.write(gpa, this.scratch.subarray(0, 2));
  }

  private availEventAddr(): number {
    return this.layout.usedRing + RING_HEADER_SIZE + USED_ELEMENT_SIZE * this.size;
  }

  private markBroken(reason: string): void {
    if (this.isBroken) return;
    this.isBroken = true;
    this.errors.report(`queue broken until reset: ${reason}`);
    this.options.onBroken?.();
  }

  /** Reads and checks the chain starting at `head` (throws ChainError or GuestMemoryError). */
  private walk(head: number): DescriptorChain {
    const readable: BufferSegment[] = [];
    const writable: BufferSegment[] = [];
    let readableLength = 0;
    let writableLength = 0;
    let table = this.layout.descTable;
    let tableSize = this.size;
    let inIndirect = false;
    let index = head;
    let seen = 0;
    for (;;) {
      if (index >= tableSize) throw new ChainError(`next index ${index} is not below the table size ${tableSize}`);
      if (++seen > tableSize) throw new ChainError(`chain longer than its table (${tableSize}): a loop`);
      const at = table + DESCRIPTOR_SIZE * index;
      const addr = this.memory.readU64(at);
      const len = this.memory.readU32(at + 8);
      const flags = this.memory.readU16(at + 12);
      const next = this.memory.readU16(at + 14);

      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) throw new ChainError('indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (inIndirect) throw new ChainError('indirect descriptor inside an indirect table');
        if (flags & VIRTQ_DESC_F_NEXT) throw new ChainError('indirect descriptor with NEXT set');
        if (len === 0 || len % DESCRIPTOR_SIZE !== 0) throw new ChainError(`indirect table length ${len} is not a multiple of 16`);
        if (len / DESCRIPTOR_SIZE > this.size) {
          throw new ChainError(`indirect table of ${len / DESCRIPTOR_SIZE} descriptors exceeds the queue size ${this.size}`);
        }
        const base = this.checkedBuffer(addr, len);
        table = base;
        tableSize = len / DESCRIPTOR_SIZE;
        inIndirect = true;
        index = 0;
        seen = 0;
        continue;
      }

      const segment = { addr: this.checkedBuffer(addr, len), len };
      if (flags & VIRTQ_DESC_F_WRITE) {
        writableLength += len;
        if (writableLength > MAX_CHAIN_BYTES) throw new ChainError('device-writable length overflows 32 bits');
        if (len > 0) writable.push(segment);
      } else {
        if (writable.length > 0 || writableLength > 0) throw new ChainError('device-readable buffer after a device-writable one');
        readableLength += len;
        if (readableLength > MAX_CHAIN_BYTES) throw new ChainError('device-readable length overflows 32 bits');
        if (len > 0) readable.push(segment);
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      index = next;
    }
    return new DescriptorChain(head, readable, writable, readableLength, writableLength, this.memory);
  }

  /** The buffer's address as a number, once [addr, addr + len) is known to be inside guest RAM (empty ones pass). */
  private checkedBuffer(addr: bigint, len: number): number {
    if (len === 0) return 0;
    if (addr > BigInt(Number.MAX_SAFE_INTEGER) || !this.memory.contains(Number(addr), len)) {
      throw new ChainError(`buffer 0x${addr.toString(16)}+${hex(len)} is not inside guest RAM`);
    }
    return Number(addr);
  }
}

/** Why a layout cannot be served, or undefined when it is fine. */
export function checkLayout(memory: GuestMemoryMap, layout: VirtqueueLayout): string | undefined {
  const { size, descTable, availRing, usedRing } = layout;
  if (!Number.isInteger(size) || size < 1 || size > MAX_QUEUE_SIZE || (size & (size - 1)) !== 0) {
    return `queue size ${size} is not a power of two up to ${MAX_QUEUE_SIZE}`;
  }
  const areas: [string, number, number, number][] = [
    ['descriptor table', descTable, DESCRIPTOR_SIZE * size, DESC_ALIGN],
    ['available ring', availRing, RING_HEADER_SIZE + 2 * size + 2, AVAIL_ALIGN],
    ['used ring', usedRing, RING_HEADER_SIZE + USED_ELEMENT_SIZE * size + 2, USED_ALIGN],
  ];
  for (const [name, addr, length, align] of areas) {
    if (!Number.isSafeInteger(addr) || addr % align !== 0) return `${name} at ${addr} is not ${align}-byte aligned`;
    if (!memory.contains(addr, length)) return `${name} ${hex(addr)}+${hex(length)} is not inside guest RAM`;
  }
  return undefined;
}
