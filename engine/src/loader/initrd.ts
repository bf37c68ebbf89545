/**
 * Reads an initial ramdisk file for Linux boot. Where it goes in guest memory is the boot set-up's decision
 * (boot/linux/initrd-placement.ts); this only gets its bytes, refusing what is not a readable regular file.
 */
import { readImageFile, type ImageSource } from './image-file';

/** Largest initrd read (1 GiB): it must fit below the kernel's initrd_addr_max in low RAM anyway. */
export const MAX_INITRD_BYTES = 1024 * 1024 * 1024;

/** Reads the initrd (a path, or the fd hvd opened); failures become LoaderError('read') naming it. */
export function readInitrd(source: ImageSource): Promise<Uint8Array> {
  return readImageFile(source, 'initrd', MAX_INITRD_BYTES);
}
