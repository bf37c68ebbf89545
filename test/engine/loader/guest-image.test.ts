/**
 * The real test guest (built by test/global-setup.ts) through the loaders, checked against binutils
 * (readelf, nm): independent tools, not our parser.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { loadKernel } from '../../../engine/src/loader/kernel-loader';
import { LoaderError } from '../../../engine/src/loader/loader-error';
import { ArrayGuestMemory } from './array-guest-memory';

const RAM = 16 * 1024 * 1024;
const POISON = 0xaa;

interface LoadSegment {
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

function readelf(...args: string[]): string {
  return execFileSync('readelf', ['-W', ...args], { encoding: 'utf8' });
}

/** The PVH entry from `readelf -n`: the Xen note of type 0x12 and its little-endian description bytes. */
function pvhEntryFromReadelf(elf: string): number {
  const output = readelf('-n', elf);
  const match = /Xen\s+0x00000004\s+Unknown note type: \(0x00000012\)\s+description data: ((?:[0-9a-f]{2} ?){4})/.exec(output);
  if (match === null) throw new Error(`no Xen type 0x12 note in readelf output:\n${output}`);
  const bytes = match[1].trim().split(' ').map((byte) => Number.parseInt(byte, 16));
  return Buffer.from(bytes).readUInt32LE(0);
}

function loadSegmentsFromReadelf(elf: string): LoadSegment[] {
  return readelf('-l', elf)
    .split('\n')
    .filter((line) => /^\s*LOAD\s/.test(line))
    .map((line) => {
      const [, offset, , paddr, filesz, memsz] = line.trim().split(/\s+/);
      return { offset: Number(offset), paddr: Number(paddr), filesz: Number(filesz), memsz: Number(memsz) };
    });
}

function symbolFromNm(elf: string, name: string): number {
  const line = execFileSync('nm', [elf], { encoding: 'utf8' })
    .split('\n')
    .find((entry) => entry.endsWith(` ${name}`));
  if (line === undefined) throw new Error(`nm: no symbol ${name} in ${elf}`);
  return Number.parseInt(line.split(' ')[0], 16);
}

function poisonedMemory(): ArrayGuestMemory {
  const memory = new ArrayGuestMemory(RAM);
  memory.bytes.fill(POISON);
  return memory;
}

describe('the built test guest', () => {
  const guests = inject('guests');

  it('loads as a PVH ELF at the entry readelf and nm report, segment by segment', async () => {
    const entry = pvhEntryFromReadelf(guests.pvh);
    expect(entry).toBe(symbolFromNm(guests.pvh, '_start'));
    const segments = loadSegmentsFromReadelf(guests.pvh).filter((segment) => segment.memsz > 0);
    expect(segments.length).toBeGreaterThan(0);

    const memory = poisonedMemory();
    const loaded = await loadKernel(guests.pvh, memory);
    expect(loaded).toEqual({
      format: 'pvh-elf',
      entry,
      lowestAddress: Math.min(...segments.map((segment) => segment.paddr)),
      highestAddress: Math.max(...segments.map((segment) => segment.paddr + segment.memsz)),
    });
    const file = readFileSync(guests.pvh);
    for (const segment of segments) {
      expect(memory.read(segment.paddr, segment.filesz)).toEqual(
        new Uint8Array(file.subarray(segment.offset, segment.offset + segment.filesz)),
      );
      const zeroed = memory.read(segment.paddr + segment.filesz, segment.memsz - segment.filesz);
      expect(zeroed.every((byte) => byte === 0)).toBe(true);
    }
    expect(memory.bytes[loaded.lowestAddress - 1]).toBe(POISON);
    expect(memory.bytes[loaded.highestAddress]).toBe(POISON);
  });

  it('loads as a raw image at the manifest address with the same bytes objcopy extracted', async () => {
    expect(guests.rawEntry).toBe(symbolFromNm(guests.pvh, '_start'));
    expect(guests.rawLoad).toBe(symbolFromNm(guests.pvh, '__image_start'));
    const raw = readFileSync(guests.raw);
    const viaElf = poisonedMemory();
    await loadKernel(guests.pvh, viaElf);
    const viaRaw = poisonedMemory();
    const loaded = await loadKernel(guests.raw, viaRaw, { kind: 'raw', loadAddress: guests.rawLoad, entry: guests.rawEntry });
    expect(loaded).toEqual({
      format: 'raw',
      entry: guests.rawEntry,
      lowestAddress: guests.rawLoad,
      highestAddress: guests.rawLoad + raw.length,
    });
    expect(viaRaw.read(guests.rawLoad, raw.length)).toEqual(viaElf.read(guests.rawLoad, raw.length));
  });

  it('is never guessed to be raw: auto-detection rejects the flat binary', async () => {
    await expect(loadKernel(guests.raw, poisonedMemory())).rejects.toMatchObject({
      step: 'format',
      message: expect.stringContaining('unrecognised kernel format'),
    });
    await expect(loadKernel(guests.raw, poisonedMemory())).rejects.toBeInstanceOf(LoaderError);
  });
});
