import * as fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * A disk image as a plain file, served with asynchronous positioned I/O on its file descriptor (the work runs on
 * libuv's thread pool, so the engine's event-loop thread never waits for the disk). The fd is hvd's, handed over
 * at spawn, or one opened here from a path (tools and tests).
 */
export interface BlockBackend {
  /** Bytes in the image. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Fills buffer from byte `position`; resolves with the bytes read (fewer only at end of file). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Writes all of data at byte `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Makes completed writes durable (fdatasync). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const fsp = {
  open: promisify(fs.open),
  fstat: promisify(fs.fstat),
  read: promisify(fs.read),
  write: promisify(fs.write),
  fdatasync: promisify(fs.fdatasync),
  close: promisify(fs.close),
};

export class RawFileBackend implements BlockBackend {
  private constructor(
    private readonly fd: number,
    readonly size: number,
    readonly readOnly: boolean,
  ) {}

  /** Opens an existing image read-write, or read-only (then writes are refused by the device). */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<RawFileBackend> {
    const readOnly = options.readOnly ?? false;
    const fd = await fsp.open(path, readOnly ? 'r' : 'r+');
    try {
      return await RawFileBackend.fromFd(fd, { readOnly, name: path });
    } catch (err) {
      await fsp.close(fd);
      throw err;
    }
  }

  /** Serves an image hvd opened and checked for the engine (the backend owns the fd from here on). */
  static async fromFd(fd: number, options: { readOnly?: boolean; name?: string } = {}): Promise<RawFileBackend> {
    const stat = await fsp.fstat(fd);
    if (!stat.isFile()) throw new Error(`disk image ${options.name ?? `fd ${fd}`} is not a regular file`);
    return new RawFileBackend(fd, stat.size, options.readOnly ?? false);
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await fsp.read(this.fd, buffer, done, buffer.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.readOnly) throw new Error('the disk image is read-only');
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fsp.write(this.fd, data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await fsp.fdatasync(this.fd);
  }

  async close(): Promise<void> {
    await fsp.close(this.fd);
  }
}
