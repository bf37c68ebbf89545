/**
 * The driver side of virtio, played in plain TypeScript: it allocates rings and buffers in real guest RAM
 * (GuestRam, the native mapping with guard pages), writes descriptors and the available ring exactly as a
 * virtio 1.x driver does (§2.7.13), and reads the used ring back. No CPU, no PCI: the device models are
 * activated directly with queues made by createSplitQueue. Used by the virtio tests and bench/virtio-blk-throughput.
 */
import type { WarnLogger } from '../../../engine/src/bus/warn-logger';
import { GuestMemoryMap } from '../../../engine/src/memory/guest-memory-map';
import { GuestRam } from '../../../engine/src/memory/guest-ram';
import { createSplitQueue, type SplitQueue } from '../../../engine/src/virtio/queue';
import {
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../../engine/src/virtio/queue/split-queue';
import type { VirtioDevice, VirtioInterrupt } from '../../../engine/src/virtio/virtio-device';

/** First byte the harness allocator hands out (low pages stay zero, as a null-pointer trap). */
const HEAP_START = 0x1000;

/** One buffer of a chain as the driver describes it; data is copied in for readable ones. */
export interface DriverBuffer {
  len: number;
  write?: boolean;
  data?: Uint8Array;
  /** Use this guest address instead of allocating (hostile tests). */
  addr?: number;
}

export interface UsedEntry {
  id: number;
  len: number;
}

export class InterruptRecorder implements VirtioInterrupt {
  readonly used: number[] = [];
  config = 0;
  private waiters: (() => void)[] = [];

  signalUsed(queueIndex: number): void {
    this.used.push(queueIndex);
    for (const w of this.waiters.splice(0)) w();
  }

  signalConfig(): void {
    this.config++;
  }

  /** Resolves at the next signalUsed. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export class DriverHarness {
  readonly ram: GuestRam;
  readonly memory: GuestMemoryMap;
  readonly interrupt = new InterruptRecorder();
  readonly warnings: string[] = [];
  readonly logger: WarnLogger = { warn: (_obj, msg) => this.warnings.push(msg) };
  private heap = HEAP_START;

  constructor(ramBytes = 4 << 20) {
    this.ram = new GuestRam(0, ramBytes);
    this.memory = new GuestMemoryMap([this.ram]);
  }

  alloc(len: number, align = 16): number {
    const at = Math.ceil(this.heap / align) * align;
    if (at + len > this.ram.size) throw new Error(`harness heap exhausted (${len} bytes)`);
    this.heap = at + len;
    return at;
  }

  /** Rings for a queue of `size` entries, laid out as a driver would (each area aligned, in RAM). */
  queue(size: number): DriverQueue {
    const descTable = this.alloc(16 * size, 16);
    const availRing = this.alloc(6 + 2 * size, 2);
    const usedRing = this.alloc(6 + 8 * size, 4);
    return new DriverQueue(this, { size, descTable, availRing, usedRing });
  }

  /** FEATURES_OK + DRIVER_OK: makes device queues over the driver queues and activates the device. */
  activate(device: VirtioDevice, queues: (DriverQueue | undefined)[], features = device.deviceFeatures): SplitQueue[] {
    const made = queues.map((q, i) =>
      q ? createSplitQueue(this.memory, q.layout, this.logger, { features, name: `q${i}` }) : undefined,
    );
    device.activate({ memory: this.memory, features, queues: made, interrupt: this.interrupt });
    return made.filter((q): q is SplitQueue => q !== undefined);
  }

  bytes(gpa: number, len: number): Uint8Array {
    return Uint8Array.from(this.memory.view(gpa, len));
  }
}

export class DriverQueue {
  private availIdx = 0;
  private usedSeen = 0;
  private readonly free: number[];
  private readonly chains = new Map<number, number[]>();
  private readonly descBytes = new Uint8Array(16);
  private readonly descView = new DataView(this.descBytes.buffer);
  /** Addresses of each chain's buffers, by head, in order. */
  readonly buffers = new Map<number, number[]>();

  constructor(
    private readonly h: DriverHarness,
    readonly layout: { size: number; descTable: number; availRing: number; usedRing: number },
  ) {
    this.free = Array.from({ length: layout.size }, (_, i) => layout.size - 1 - i);
    h.ram.fill(layout.descTable, 16 * layout.size, 0);
    h.ram.fill(layout.availRing, 6 + 2 * layout.size, 0);
    h.ram.fill(layout.usedRing, 6 + 8 * layout.size, 0);
  }

  get size(): number {
    return this.layout.size;
  }

  writeDescriptor(table: number, index: number, addr: number | bigint, len: number, flags: number, next: number): void {
    const v = this.descView;
    v.setBigUint64(0, BigInt(addr), true);
    v.setUint32(8, len >>> 0, true);
    v.setUint16(12, flags, true);
    v.setUint16(14, next, true);
    this.h.memory.write(table + 16 * index, this.descBytes);
  }

  /** Writes a chain (allocating buffers unless given), makes it available and returns its head. */
  add(buffers: DriverBuffer[], options: { indirect?: boolean } = {}): number {
    const addrs = buffers.map((b) => {
      const addr = b.addr ?? this.h.alloc(Math.max(b.len, 1), 8);
      if (b.data) this.h.memory.write(addr, b.data);
      return addr;
    });
    let head: number;
    if (options.indirect) {
      const table = this.h.alloc(16 * buffers.length, 16);
      buffers.forEach((b, i) => {
        const flags = (b.write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < buffers.length ? VIRTQ_DESC_F_NEXT : 0);
        this.writeDescriptor(table, i, addrs[i], b.len, flags, i + 1);
      });
      head = this.take(1)[0];
      this.writeDescriptor(this.layout.descTable, head, table, 16 * buffers.length, VIRTQ_DESC_F_INDIRECT, 0);
      this.chains.set(head, [head]);
    } else {
      const indices = this.take(buffers.length);
      buffers.forEach((b, i) => {
        const last = i + 1 === buffers.length;
        const flags = (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT);
        this.writeDescriptor(this.layout.descTable, indices[i], addrs[i], b.len, flags, last ? 0 : indices[i + 1]);
      });
      head = indices[0];
      this.chains.set(head, indices);
    }
    this.buffers.set(head, addrs);
    this.publish(head);
    return head;
  }

  /** Puts a head in the next available slot and bumps avail.idx. */
  publish(head: number): void {
    const m = this.h.memory;
    m.writeU16(this.layout.availRing + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    m.writeU16(this.layout.availRing + 2, this.availIdx);
  }

  /** Sets avail.idx to any value (hostile tests). */
  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.h.memory.writeU16(this.layout.availRing + 2, this.availIdx);
  }

  setAvailFlags(flags: number): void {
    this.h.memory.writeU16(this.layout.availRing, flags);
  }

  /** Writes used_event (VIRTIO_F_EVENT_IDX). */
  setUsedEvent(idx: number): void {
    this.h.memory.writeU16(this.layout.availRing + 4 + 2 * this.size, idx);
  }

  /** avail_event as the device last wrote it. */
  availEvent(): number {
    return this.h.memory.readU16(this.layout.usedRing + 4 + 8 * this.size);
  }

  usedIdx(): number {
    return this.h.memory.readU16(this.layout.usedRing + 2);
  }

  /** Used entries the device added since the last call; their descriptors go back to the free list. */
  takeUsed(): UsedEntry[] {
    const m = this.h.memory;
    const idx = this.usedIdx();
    const out: UsedEntry[] = [];
    while (this.usedSeen !== idx) {
      const at = this.layout.usedRing + 4 + 8 * (this.usedSeen % this.size);
      const entry = { id: m.readU32(at), len: m.readU32(at + 4) };
      out.push(entry);
      const indices = this.chains.get(entry.id);
      if (indices) {
        this.free.push(...indices);
        this.chains.delete(entry.id);
      }
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }

  private take(n: number): number[] {
    if (n > this.free.length) throw new Error(`driver queue out of descriptors (${n} wanted, ${this.free.length} free)`);
    return this.free.splice(this.free.length - n, n).reverse();
  }
}
