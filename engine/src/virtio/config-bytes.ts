/**
 * A little-endian read of `size` bytes (1, 2 or 4) at `offset` of a device config space; bytes beyond it read as
 * zero (a driver probing past the end gets zeros, never an exception).
 */
export function readConfigBytes(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = Math.min(size, 4) - 1; i >= 0; i--) {
    const at = offset + i;
    value = value * 256 + (Number.isInteger(at) && at >= 0 && at < bytes.length ? bytes[at] : 0);
  }
  return value;
}
