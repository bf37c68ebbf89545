/**
 * Reusable host buffers for disk reads: the backend reads into one, then it is copied into guest RAM through
 * GuestMemoryMap.write (which keeps the emulator's translated code coherent). Reusing them keeps a busy disk from
 * turning every request into a fresh allocation and garbage-collector work.
 */
export class BouncePool {
  private readonly free: Buffer[] = [];

  constructor(
    /** Bytes per buffer. */
    readonly bufferSize: number,
    /** Most idle buffers kept; more in flight than this are allocated and dropped on release. */
    private readonly maxIdle: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  release(buffer: Buffer): void {
    if (this.free.length < this.maxIdle) this.free.push(buffer);
  }
}
