/** Kernel image format detection by magic numbers. Raw flat binaries have none and are never guessed. */

/** ELF identification: 0x7f 'E' 'L' 'F' at offset 0. */
export const ELF_MAGIC = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46);
/** Offset of the Linux boot protocol's setup header magic. */
export const BZIMAGE_HEADER_MAGIC_OFFSET = 0x202;
/** "HdrS", read as a little-endian u32. */
export const BZIMAGE_HEADER_MAGIC = 0x5372_6448;

export type DetectedFormat = 'elf' | 'bzimage' | 'unknown';

export function isElf(image: Uint8Array): boolean {
  return image.length >= ELF_MAGIC.length && ELF_MAGIC.every((byte, i) => image[i] === byte);
}

export function isBzImage(image: Uint8Array): boolean {
  if (image.length < BZIMAGE_HEADER_MAGIC_OFFSET + 4) return false;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return view.getUint32(BZIMAGE_HEADER_MAGIC_OFFSET, true) === BZIMAGE_HEADER_MAGIC;
}

export function detectKernelFormat(image: Uint8Array): DetectedFormat {
  if (isElf(image)) return 'elf';
  if (isBzImage(image)) return 'bzimage';
  return 'unknown';
}
