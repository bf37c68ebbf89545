/** The newc cpio writer the KVM Linux boot test builds its initramfs with, read back by buffer-format.rst's rules. */
import { describe, expect, it } from 'vitest';
import { buildCpio, S_IFCHR, S_IFDIR, S_IFREG } from './initramfs';

function readCpio(archive: Buffer) {
  const out: { name: string; mode: number; data: string; rdev: [number, number] }[] = [];
  let at = 0;
  for (;;) {
    expect(archive.toString('latin1', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(archive.toString('latin1', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const nameSize = field(11);
    const name = archive.toString('latin1', at + 110, at + 110 + nameSize - 1);
    expect(archive[at + 110 + nameSize - 1]).toBe(0);
    let data = at + 110 + nameSize;
    data += (4 - (data % 4)) % 4;
    const size = field(6);
    if (name === 'TRAILER!!!') return { entries: out, end: data + size };
    out.push({ name, mode: field(1), data: archive.toString('latin1', data, data + size), rdev: [field(9), field(10)] });
    at = data + size + ((4 - ((data + size) % 4)) % 4);
  }
}

describe('buildCpio', () => {
  it('writes newc entries with 4-byte aligned names and data, ending in TRAILER!!!', () => {
    const archive = buildCpio([
      { name: 'bin', mode: S_IFDIR | 0o755 },
      { name: 'init', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\n') },
      { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    ]);
    const { entries, end } = readCpio(archive);
    expect(entries).toEqual([
      { name: 'bin', mode: 0o40755, data: '', rdev: [0, 0] },
      { name: 'init', mode: 0o100755, data: '#!/bin/sh\n', rdev: [0, 0] },
      { name: 'dev/console', mode: 0o20600, data: '', rdev: [5, 1] },
    ]);
    expect(end).toBe(archive.length);
    expect(archive.length % 4).toBe(0);
  });
});
