import type { GuestRam } from './guest-ram';

/** A guest-supplied address range that is not wholly inside one RAM region: a guest mistake, never a host crash. */
export class GuestMemoryError extends Error {
  constructor(
    readonly gpa: number,
    readonly length: number,
  ) {
    super(`guest range 0x${gpa.toString(16)}+0x${length.toString(16)} is not inside guest RAM`);
    this.name = 'GuestMemoryError';
  }
}

/**
 * All of a guest's RAM, for device DMA (virtio rings and buffers). Every access is bounds-checked against the RAM
 * regions first; a range that leaves RAM or straddles two regions throws GuestMemoryError. Writes go through
 * GuestRam.write so the emulator drops code translated from them.
 */
export class GuestMemoryMap {
  private readonly dataView: DataView[];

  constructor(private readonly regions: readonly GuestRam[]) {
    this.dataView = regions.map((r) => new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
  }

  /** A read-only-by-convention view of guest RAM (write through write() so caches stay coherent). */
  view(gpa: number, length: number): Uint8Array {
    const i = this.regionOf(gpa, length);
    const offset = gpa - this.regions[i].gpa;
    return this.regions[i].bytes.subarray(offset, offset + length);
  }

  write(gpa: number, data: Uint8Array): void {
    this.regions[this.regionOf(gpa, data.length)].write(gpa, data);
  }

  readU16(gpa: number): number {
    const i = this.regionOf(gpa, 2);
    return this.dataView[i].getUint16(gpa - this.regions[i].gpa, true);
  }

  readU32(gpa: number): number {
    const i = this.regionOf(gpa, 4);
    return this.dataView[i].getUint32(gpa - this.regions[i].gpa, true);
  }

  /** 64-bit little-endian value; guest addresses and lengths above 2^53 cannot be in RAM, so they come back as such. */
  readU64(gpa: number): bigint {
    const i = this.regionOf(gpa, 8);
    return this.dataView[i].getBigUint64(gpa - this.regions[i].gpa, true);
  }

  writeU16(gpa: number, value: number): void {
    const bytes = new Uint8Array(2);
    new DataView(bytes.buffer).setUint16(0, value, true);
    this.write(gpa, bytes);
  }

  writeU32(gpa: number, value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value, true);
    this.write(gpa, bytes);
  }

  /** Returns whole pages to the host (GuestRam.discard); the range must lie inside one region. */
  discard(gpa: number, length: number): void {
    this.regions[this.regionOf(gpa, length)].discard(gpa, length);
  }

  /** True when [gpa, gpa + length) lies wholly inside one RAM region. */
  contains(gpa: number, length: number): boolean {
    return this.find(gpa, length) >= 0;
  }

  private regionOf(gpa: number, length: number): number {
    const i = this.find(gpa, length);
    if (i < 0) throw new GuestMemoryError(gpa, length);
    return i;
  }

  private find(gpa: number, length: number): number {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return -1;
    for (let i = 0; i < this.regions.length; i++) {
      const r = this.regions[i];
      if (gpa >= r.gpa && gpa + length <= r.gpa + r.size) return i;
    }
    return -1;
  }
}
