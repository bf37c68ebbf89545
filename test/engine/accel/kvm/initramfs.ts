/**
 * A newc ("070701") cpio archive, the initramfs format the kernel unpacks (Documentation/driver-api/early-userspace/
 * buffer-format.rst): per entry a 110-byte ASCII header of 13 hex fields, the NUL-terminated name padded to 4 bytes,
 * the data padded to 4 bytes; a "TRAILER!!!" entry ends it.
 */

export interface CpioEntry {
  name: string;
  /** st_mode: file type bits and permissions. */
  mode: number;
  data?: Uint8Array;
  /** Device numbers of a character or block special file. */
  rdevMajor?: number;
  rdevMinor?: number;
}

/** File type bits. */
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;

const MAGIC = '070701';
const HEADER_SIZE = 110;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const all = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((entry, i) => {
    const data = entry.data ?? new Uint8Array(0);
    const name = Buffer.from(`${entry.name}\0`, 'latin1');
    const fields = [
      i + 1, entry.mode, 0, 0, entry.mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0,
      entry.rdevMajor ?? 0, entry.rdevMinor ?? 0, name.length, 0,
    ];
    parts.push(Buffer.from(MAGIC + fields.map(hex8).join(''), 'latin1'), name, Buffer.alloc(pad4(HEADER_SIZE + name.length)));
    parts.push(Buffer.from(data), Buffer.alloc(pad4(data.length)));
  });
  return Buffer.concat(parts);
}
