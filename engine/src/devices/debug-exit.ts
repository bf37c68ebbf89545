/**
 * QEMU isa-debug-exit compatible device: lets a test guest end the VM with a status.
 *
 * Protocol: the guest writes a value v (1, 2 or 4 bytes, any offset of the range) and the VM exits with
 * status (v << 1) | 1, so a guest can never report 0 and QEMU's own failure (1) needs v = 0.
 * Reads return 0, as QEMU's debug_exit_read does.
 */
import { allOnes, type AccessSize } from '../bus/access-size';
import type { BusDevice } from '../bus/bus-device';

export interface DebugExitOptions {
  /**
   * Called synchronously per write with the full status 2v + 1 (up to 2^33 - 1, exact).
   * As a process exit code only the low 8 bits survive, exactly as with QEMU's exit().
   */
  onExit(status: number): void;
}

export class DebugExit implements BusDevice {
  private readonly onExit: (status: number) => void;

  constructor(options: DebugExitOptions) {
    this.onExit = options.onExit;
  }

  read(): number {
    return 0;
  }

  write(_offset: number, size: number, value: number): void {
    const v = (value & allOnes(size as AccessSize)) >>> 0;
    // Arithmetic rather than `(v << 1) | 1`: a 32-bit v would overflow JS's 32-bit shift.
    this.onExit(v * 2 + 1);
  }
}
