/** ACPI checksums: a table's bytes (or an RSDP's checksummed part) sum to 0 modulo 256. */

/** Sum of bytes [start, end) modulo 256. */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] as number)) & 0xff;
  return sum;
}

/** Sets bytes[at] so that bytes [start, end) sum to 0; the byte at `at` must lie in that range. */
export function fixChecksum(bytes: Uint8Array, at: number, start = 0, end = bytes.length): void {
  bytes[at] = 0;
  bytes[at] = (0x100 - byteSum(bytes, start, end)) & 0xff;
}
