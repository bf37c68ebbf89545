/** A bounded ring of the most recent console bytes, replayed to clients that attach later. */
export class Scrollback {
  private readonly ring: Buffer;
  private start = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`scrollback capacity must be a positive integer, got ${capacity}`);
    this.ring = Buffer.alloc(capacity);
  }

  append(bytes: Uint8Array): void {
    // Only the newest `capacity` bytes can survive.
    const data = bytes.length > this.capacity ? bytes.subarray(bytes.length - this.capacity) : bytes;
    for (let i = 0; i < data.length; ) {
      const end = (this.start + this.length) % this.capacity;
      const chunk = Math.min(data.length - i, this.capacity - end);
      this.ring.set(data.subarray(i, i + chunk), end);
      i += chunk;
      const overflow = this.length + chunk - this.capacity;
      if (overflow > 0) {
        this.start = (this.start + overflow) % this.capacity;
        this.length = this.capacity;
      } else {
        this.length += chunk;
      }
    }
  }

  /** The retained bytes, oldest first, as a copy. */
  snapshot(): Buffer {
    const head = this.ring.subarray(this.start, Math.min(this.start + this.length, this.capacity));
    const tail = this.ring.subarray(0, this.length - head.length);
    return Buffer.concat([head, tail]);
  }
}
