/**
 * Reads a whole image file (kernel, initrd) into memory, from a file descriptor hvd opened and checked for the
 * engine, or from a path (tools and tests). Reads are positioned (pread from 0), so a reset reads the same fd again.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { LoaderError } from './loader-error';

/** An image hvd handed over as an open file descriptor (path: for messages only), or a path to open. */
export type ImageSource = string | { fd: number; path: string };

const fstat = promisify(fs.fstat);
const read = promisify(fs.read);
const open = promisify(fs.open);
const close = promisify(fs.close);

/** The image's bytes; failures become LoaderError('read') naming `what` and its path. */
export async function readImageFile(source: ImageSource, what: string, maxBytes: number): Promise<Uint8Array> {
  const name = typeof source === 'string' ? source : source.path;
  let fd: number;
  if (typeof source === 'string') {
    try {
      fd = await open(source, 'r');
    } catch (error) {
      throw new LoaderError('read', `cannot open ${what} ${name}: ${(error as Error).message}`);
    }
  } else {
    fd = source.fd;
  }
  try {
    const stats = await fstat(fd);
    if (!stats.isFile()) throw new LoaderError('read', `${what} ${name} is not a regular file`);
    if (stats.size > maxBytes) throw new LoaderError('read', `${what} ${name} is ${stats.size} bytes, larger than ${maxBytes}`);
    const bytes = Buffer.alloc(stats.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await read(fd, bytes, done, bytes.length - done, done);
      if (bytesRead === 0) throw new LoaderError('read', `${what} ${name} shrank while it was read`);
      done += bytesRead;
    }
    return bytes;
  } catch (error) {
    if (error instanceof LoaderError) throw error;
    throw new LoaderError('read', `cannot read ${what} ${name}: ${(error as Error).message}`);
  } finally {
    if (typeof source === 'string') await close(fd);
  }
}
