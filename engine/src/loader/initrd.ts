/**
 * Reads an initial ramdisk file for Linux boot. Where it goes in guest memory is the boot set-up's decision
 * (boot/linux/initrd-placement.ts); this only gets its bytes, refusing what is not a readable regular file.
 */
import { open } from 'node:fs/promises';
import { LoaderError } from './loader-error';

/** Largest initrd read (1 GiB): it must fit below the kernel's initrd_addr_max in low RAM anyway. */
export const MAX_INITRD_BYTES = 1024 * 1024 * 1024;

/** Reads the initrd at path; failures become LoaderError('read') naming it. */
export async function readInitrd(path: string): Promise<Uint8Array> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw new LoaderError('read', `cannot open initrd ${path}: ${(error as Error).message}`);
  }
  try {
    const stats = await file.stat();
    if (!stats.isFile()) throw new LoaderError('read', `initrd ${path} is not a regular file`);
    if (stats.size > MAX_INITRD_BYTES) throw new LoaderError('read', `initrd ${path} is ${stats.size} bytes, larger than ${MAX_INITRD_BYTES}`);
    return await file.readFile();
  } catch (error) {
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('read', `cannot read initrd ${path}: ${(error as Error).message}`);
  } finally {
    await file.close();
  }
}
