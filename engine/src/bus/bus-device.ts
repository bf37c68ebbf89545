/**
 * A register-level device on a bus (vm-superio / Firecracker `BusDevice` shape).
 *
 * Devices never know their base address: `offset` is relative to the start of the range the device
 * was inserted at. `size` is 1, 2 or 4 and values are unsigned numbers of that width. The bus only
 * calls a device with accesses that lie entirely inside its range. 8-byte MMIO accesses are split
 * by the bus into two 4-byte accesses, low half first.
 */
export interface BusDevice {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}
