/**
 * Generic Address Structure (ACPI 6.x, section 5.2.3.2), 12 bytes: where a register lives.
 *   0 Address Space ID   1 Register Bit Width   2 Register Bit Offset   3 Access Size   4 Address (8)
 */

/** Size of a GAS. */
export const GAS_SIZE = 12;
/** Address space: system memory. */
export const GAS_SPACE_MEMORY = 0;
/** Address space: system I/O ports. */
export const GAS_SPACE_IO = 1;
/** Access size: byte. */
export const GAS_ACCESS_BYTE = 1;
/** Access size: word. */
export const GAS_ACCESS_WORD = 2;
/** Access size: dword. */
export const GAS_ACCESS_DWORD = 3;

export interface GenericAddress {
  space: number;
  bitWidth: number;
  bitOffset?: number;
  accessSize: number;
  address: number;
}

/** Writes a GAS at `at` in `view`. */
export function putGas(view: DataView, at: number, gas: GenericAddress): void {
  view.setUint8(at, gas.space);
  view.setUint8(at + 1, gas.bitWidth);
  view.setUint8(at + 2, gas.bitOffset ?? 0);
  view.setUint8(at + 3, gas.accessSize);
  view.setBigUint64(at + 4, BigInt(gas.address), true);
}

/** An I/O-port register of `bytes` bytes accessed `accessSize` at a time. */
export function ioGas(port: number, bytes: number, accessSize: number): GenericAddress {
  return { space: GAS_SPACE_IO, bitWidth: bytes * 8, accessSize, address: port };
}
