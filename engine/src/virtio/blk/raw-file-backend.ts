import * as fs from 'node:fs';

/**
 * A disk image as a plain file, served with asynchronous positioned I/O (fs.promises FileHandle: the work runs
 * on libuv's thread pool, so the engine's event-loop thread never waits for the disk).
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

export class RawFileBackend implements BlockBackend {
  private constructor(
    private readonly handle: fs.promises.FileHandle,
    readonly size: number,
    readonly readOnly: boolean,
  ) {}

  /** Opens an existing image read-write, or read-only (then writes are refused by the device). */
  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<RawFileBackend> {
    const readOnly = options.readOnly ?? false;
    const handle = await fs.promises.open(path, readOnly ? 'r' : 'r+');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`disk image ${path} is not a regular file`);
      return new RawFileBackend(handle, stat.size, readOnly);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, done, buffer.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    if (this.readOnly) throw new Error('the disk image is read-only');
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    if (!this.readOnly) await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
