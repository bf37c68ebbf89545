import { describe, expect, it } from 'vitest';
import { GuestMemoryError, GuestMemoryMap } from '../../../engine/src/memory/guest-memory-map';
import { GuestRam } from '../../../engine/src/memory/guest-ram';

const low = new GuestRam(0, 64 * 1024);
const high = new GuestRam(2 ** 32, 8 * 1024);
const map = new GuestMemoryMap([low, high]);

describe('GuestMemoryMap', () => {
  it('reads and writes little-endian values in either region', () => {
    map.writeU32(0x100, 0x11223344);
    expect(map.readU16(0x100)).toBe(0x3344);
    expect(map.readU32(0x100)).toBe(0x11223344);
    map.write(2 ** 32 + 8, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x80));
    expect(map.readU64(2 ** 32 + 8)).toBe(0x8000000000000001n);
    expect(high.bytes[8]).toBe(1);
  });

  it('refuses ranges outside RAM, across the hole, negative or unsafe, without touching memory', () => {
    const bad: [number, number][] = [
      [64 * 1024 - 2, 4], // runs off the end of low RAM
      [64 * 1024, 1], // in the hole
      [2 ** 32 - 1, 2], // straddles into high RAM
      [2 ** 32 + 8 * 1024, 1], // past high RAM
      [-1, 1],
      [0, -1],
      [2 ** 60, 1],
      [0x100, Number.MAX_SAFE_INTEGER],
    ];
    for (const [gpa, length] of bad) {
      expect(() => map.view(gpa, length)).toThrow(GuestMemoryError);
      expect(map.contains(gpa, length)).toBe(false);
    }
    expect(() => map.writeU32(64 * 1024 - 2, 0)).toThrow(GuestMemoryError);
  });

  it('gives views that alias guest RAM', () => {
    map.view(0x200, 4).set([9, 8, 7, 6]);
    expect(Array.from(low.bytes.subarray(0x200, 0x204))).toEqual([9, 8, 7, 6]);
  });
});
