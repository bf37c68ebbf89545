import type { Accelerator } from '../accel';
import { createGuestMemory, PAGE_SIZE, type GuestMemory } from '../native';
import type { GuestMemoryWriter } from './guest-memory-writer';

/**
 * One region of guest RAM: a native mapping (guard pages around it) shared by the accelerator and JS. Every host
 * write goes through write()/fill(), which bounds-check and drop code the emulator translated from that range.
 */
export class GuestRam implements GuestMemoryWriter {
  readonly memory: GuestMemory;
  readonly bytes: Uint8Array;
  private accelerator: Accelerator | undefined;

  constructor(
    readonly gpa: number,
    readonly size: number,
  ) {
    this.memory = createGuestMemory(size);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** Maps the region into the accelerator, which from then on is told about every host write. */
  attach(accelerator: Accelerator): void {
    accelerator.mapRam(this.gpa, this.memory);
    this.accelerator = accelerator;
  }

  write(gpa: number, data: Uint8Array): void {
    const offset = this.offsetOf(gpa, data.length);
    this.bytes.set(data, offset);
    this.accelerator?.invalidate(gpa, data.length);
  }

  fill(gpa: number, length: number, value: number): void {
    const offset = this.offsetOf(gpa, length);
    this.bytes.fill(value, offset, offset + length);
    this.accelerator?.invalidate(gpa, length);
  }

  /**
   * Gives whole pages back to the host (a balloon inflate): they stop counting in the engine's RSS and read as
   * zero when the guest touches them again. Code the emulator translated from them is dropped with them.
   */
  discard(gpa: number, length: number): void {
    const offset = this.offsetOf(gpa, length);
    if (offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) throw new RangeError(`discard of 0x${length.toString(16)} bytes at 0x${gpa.toString(16)} is not whole pages`);
    this.memory.discard(offset, length);
    this.accelerator?.invalidate(gpa, length);
  }

  private offsetOf(gpa: number, length: number): number {
    const offset = gpa - this.gpa;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`guest write of ${length} bytes at 0x${gpa.toString(16)} is outside RAM region 0x${this.gpa.toString(16)}+0x${this.size.toString(16)}`);
    }
    return offset;
  }
}
