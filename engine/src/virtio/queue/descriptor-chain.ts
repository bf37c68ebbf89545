import type { GuestMemoryMap } from '../../memory/guest-memory-map';

/** One guest buffer of a chain: already checked to lie wholly inside guest RAM (or to be empty). */
export interface BufferSegment {
  readonly addr: number;
  readonly len: number;
}

/**
 * One available descriptor chain, read and checked by the queue: device-readable segments first, then
 * device-writable ones, every segment inside guest RAM, total lengths within 32 bits. The segment values are
 * copies, so a guest rewriting its descriptor table afterwards cannot change what was checked. Devices address
 * the readable and the writable parts as two flat byte streams (virtio 1.x: message framing is independent of
 * descriptor boundaries).
 */
export class DescriptorChain {
  constructor(
    /** Descriptor-table index of the head: what the used ring entry names. */
    readonly head: number,
    readonly readable: readonly BufferSegment[],
    readonly writable: readonly BufferSegment[],
    readonly readableLength: number,
    readonly writableLength: number,
    private readonly memory: GuestMemoryMap,
  ) {}

  /** Copies up to `length` device-readable bytes starting `offset` bytes into the readable part. */
  readBytes(offset: number, length: number): Uint8Array {
    const ranges = sliceSegments(this.readable, offset, length);
    const out = new Uint8Array(ranges.reduce((n, r) => n + r.len, 0));
    let at = 0;
    for (const r of ranges) {
      out.set(this.memory.view(r.addr, r.len), at);
      at += r.len;
    }
    return out;
  }

  /** Copies data into the writable part from `offset`; returns the bytes written (cut at its end). */
  writeBytes(offset: number, data: Uint8Array): number {
    let at = 0;
    for (const r of sliceSegments(this.writable, offset, data.length)) {
      this.memory.write(r.addr, data.subarray(at, at + r.len));
      at += r.len;
    }
    return at;
  }

  /** The guest ranges backing `length` readable bytes from `offset` (fewer bytes when the part ends first). */
  readableRanges(offset: number, length: number): BufferSegment[] {
    return sliceSegments(this.readable, offset, length);
  }

  /** The guest ranges backing `length` writable bytes from `offset` (fewer bytes when the part ends first). */
  writableRanges(offset: number, length: number): BufferSegment[] {
    return sliceSegments(this.writable, offset, length);
  }
}

/** The sub-ranges of a segment list covering the byte window [offset, offset + length), empty ones dropped. */
export function sliceSegments(segments: readonly BufferSegment[], offset: number, length: number): BufferSegment[] {
  const out: BufferSegment[] = [];
  let skip = Math.max(0, offset);
  let left = Math.max(0, length);
  for (const s of segments) {
    if (left === 0) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const len = Math.min(s.len - skip, left);
    out.push({ addr: s.addr + skip, len });
    left -= len;
    skip = 0;
  }
  return out;
}
