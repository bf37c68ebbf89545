/**
 * Kernel loading entry point: reads the image, picks the loader and returns where the kernel went. It never
 * writes boot structures (start_info, zero page, cmdline, e820, GDT): that is the boot set-up's job.
 *
 * Format selection: `auto` detects by magic number — an ELF is loaded as a PVH ELF (and rejected without
 * a PVH note), a Linux bzImage ("HdrS" at 0x202) goes to the 64-bit boot protocol loader, anything else is
 * unrecognised; `linux` insists on a bzImage. A raw flat binary has no magic and is only loaded when asked
 * for with its placement.
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { loadBzImage } from './bzimage';
import { detectKernelFormat } from './detect';
import { readImageFile, type ImageSource } from './image-file';
import type { LoadedKernel } from './loaded-kernel';
import { LoaderError } from './loader-error';
import { loadPvhElf } from './pvh-elf';
import { loadRaw } from './raw';

/** Largest kernel image file read (1 GiB): an uncompressed vmlinux with debug info stays well below. */
export const MAX_KERNEL_IMAGE_BYTES = 1024 * 1024 * 1024;

export type KernelFormat =
  /** Detect by magic number: PVH ELF or Linux bzImage. */
  | { kind: 'auto' }
  /** A Linux bzImage through the 64-bit boot protocol (anything else is refused). */
  | { kind: 'linux' }
  /** A flat binary copied to loadAddress and entered at entry. */
  | { kind: 'raw'; loadAddress: number; entry: number };

/** Reads a kernel image (a path, or the fd hvd opened); failures become LoaderError('read') naming the path. */
export function readKernelImage(source: ImageSource): Promise<Uint8Array> {
  return readImageFile(source, 'kernel image', MAX_KERNEL_IMAGE_BYTES);
}

/** Loads an image already in memory. */
export function loadKernelBytes(image: Uint8Array, memory: GuestMemoryWriter, format: KernelFormat): LoadedKernel {
  if (format.kind === 'raw') return loadRaw(image, memory, { loadAddress: format.loadAddress, entry: format.entry });
  const detected = detectKernelFormat(image);
  if (format.kind === 'linux' && detected !== 'bzimage') {
    throw new LoaderError('format', 'not a Linux bzImage: no "HdrS" setup header magic at 0x202');
  }
  switch (detected) {
    case 'elf':
      return loadPvhElf(image, memory);
    case 'bzimage':
      return loadBzImage(image, memory);
    case 'unknown':
      throw new LoaderError(
        'format',
        'unrecognised kernel format: expected a PVH ELF or a Linux bzImage (or give a raw image with its load address and entry)',
      );
  }
}

/** Loads a kernel image (bytes, or a file to read) into guest memory and returns where it went. */
export async function loadKernel(
  image: Uint8Array | ImageSource,
  memory: GuestMemoryWriter,
  format: KernelFormat = { kind: 'auto' },
): Promise<LoadedKernel> {
  const bytes = image instanceof Uint8Array ? image : await readKernelImage(image);
  return loadKernelBytes(bytes, memory, format);
}
