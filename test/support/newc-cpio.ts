/**
 * A minimal cpio archive in the "newc" format (what the Linux kernel unpacks as an initramfs): for each entry a
 * 110-byte ASCII header ("070701" and 13 eight-digit hex fields), the NUL-terminated name padded to 4 bytes, the
 * data padded to 4 bytes; the archive ends with an entry named "TRAILER!!!".
 */

/** An entry: a directory, a regular file with its bytes and mode, or a symlink to a target. */
export type CpioEntry =
  | { kind: 'dir'; name: string; mode?: number }
  | { kind: 'file'; name: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; name: string; target: string };

/** File type bits of st_mode. */
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** newc magic: no checksums. */
const NEWC_MAGIC = '070701';

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function header(ino: number, mode: number, nlink: number, size: number, nameSize: number): string {
  const field = (value: number) => value.toString(16).padStart(8, '0');
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  return NEWC_MAGIC + [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameSize, 0].map(field).join('');
}

export function newcCpio(entries: CpioEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const push = (ino: number, mode: number, nlink: number, name: string, data: Uint8Array) => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const head = Buffer.from(header(ino, mode, nlink, data.length, nameBytes.length), 'latin1');
    parts.push(head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)));
  };
  entries.forEach((entry, index) => {
    const ino = index + 1;
    if (entry.kind === 'dir') push(ino, S_IFDIR | (entry.mode ?? 0o755), 2, entry.name, new Uint8Array(0));
    else if (entry.kind === 'file') push(ino, S_IFREG | (entry.mode ?? 0o644), 1, entry.name, entry.data);
    else push(ino, S_IFLNK | 0o777, 1, entry.name, Buffer.from(entry.target, 'utf8'));
  });
  push(0, 0, 1, 'TRAILER!!!', new Uint8Array(0));
  return Buffer.concat(parts);
}
