/** Where a loader put a kernel image; the boot set-up uses it, nothing here writes boot structures. */
export interface LoadedKernel {
  /** Which loader placed it. */
  format: 'pvh-elf' | 'raw' | 'bzimage';
  /** Guest physical address to start at (the PVH entry for an ELF, the given entry for a raw image,
   * the 64-bit entry for a bzImage). */
  entry: number;
  /** Guest physical address of the first byte loaded. */
  lowestAddress: number;
  /** Guest physical address one past the last byte loaded (zero-filled .bss included): the image's end. */
  highestAddress: number;
}
