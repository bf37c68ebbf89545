import type { GuestMemoryWriter } from '../../../engine/src/memory/guest-memory-writer';

/** GuestMemoryWriter over a plain Uint8Array, bounds-checked like the real GuestMemory: for loader and boot tests. */
export class ArrayGuestMemory implements GuestMemoryWriter {
  readonly bytes: Uint8Array;
  /** Number of write() and fill() calls so far: tests check that a failing load wrote nothing. */
  writes = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`guest memory size ${size} is not a byte count`);
    this.bytes = new Uint8Array(size);
  }

  get size(): number {
    return this.bytes.length;
  }

  write(gpa: number, bytes: Uint8Array): void {
    this.check(gpa, bytes.length);
    this.writes++;
    this.bytes.set(bytes, gpa);
  }

  fill(gpa: number, length: number, value: number): void {
    this.check(gpa, length);
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`fill value ${value} is not a byte`);
    this.writes++;
    this.bytes.fill(value, gpa, gpa + length);
  }

  /** A copy of length bytes at gpa. */
  read(gpa: number, length: number): Uint8Array {
    this.check(gpa, length);
    return this.bytes.slice(gpa, gpa + length);
  }

  private check(gpa: number, length: number): void {
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0 || gpa + length > this.size) {
      throw new RangeError(`guest range 0x${gpa.toString(16)}+0x${length.toString(16)} is outside ${this.size} bytes of RAM`);
    }
  }
}
