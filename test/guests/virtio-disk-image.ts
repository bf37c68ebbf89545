/**
 * Disk images with known content for the test guest's virtio-blk driver, and the values it prints for them:
 * the FNV-1a checksum of each sector and the pattern its write test puts in a sector (test/guests/src/virtio-blk.c).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SECTOR_SIZE = 512;

/** Sector s holds bytes (s * 31 + i) & 0xff: every sector differs, so a wrong offset changes checksums. */
export function knownSector(sector: number): Uint8Array {
  const bytes = new Uint8Array(SECTOR_SIZE);
  for (let i = 0; i < SECTOR_SIZE; i++) bytes[i] = (sector * 31 + i) & 0xff;
  return bytes;
}

/** A raw image of `sectors` known sectors in a fresh temporary directory; returns its path. */
export function createKnownDisk(sectors: number, name = 'disk.img'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hv-disk-')), name);
  const image = Buffer.alloc(sectors * SECTOR_SIZE);
  for (let s = 0; s < sectors; s++) image.set(knownSector(s), s * SECTOR_SIZE);
  writeFileSync(path, image);
  return path;
}

/** 32-bit FNV-1a, as the guest prints it ("0x" + lower-case hex, no leading zeros). */
export function fnv1a(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `0x${hash.toString(16)}`;
}

/** What the guest's write test writes to sector s. */
export function writePattern(sector: number): Uint8Array {
  const bytes = new Uint8Array(SECTOR_SIZE);
  for (let i = 0; i < SECTOR_SIZE; i++) bytes[i] = (sector * 7 + i * 13 + 0x5a) & 0xff;
  return bytes;
}

/** The checksum lines the guest prints for sectors 0..count-1 of a known disk. */
export function expectedSectorLines(count: number): string[] {
  return Array.from({ length: count }, (_, s) => `hv-guest: virtio-blk sector=${s} sum=${fnv1a(knownSector(s))}`);
}
