/**
 * GuestMemory.discard: whole pages of guest RAM handed back to the host (what a balloon inflate does). The pages
 * leave the process's RSS and read as zero; anything that is not whole pages inside the RAM is refused untouched.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemoryMap } from '../../../engine/src/memory/guest-memory-map';
import { GuestRam } from '../../../engine/src/memory/guest-ram';
import { createGuestMemory, PAGE_SIZE } from '../../../engine/src/native';
import { residentBytesOfMapping } from '../../support/smaps';

/** An odd size, so the test finds its mapping in /proc/self/smaps by size alone. */
const PAGES = 2048 + 13;
const SIZE = PAGES * PAGE_SIZE;
const MIB = 1024 * 1024;

function touchAll(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += PAGE_SIZE) bytes[i] = 0xa5;
}

describe('GuestMemory.discard', () => {
  it('returns the pages to the host: RSS drops and they read as zero, the rest keeps its data', () => {
    const memory = createGuestMemory(SIZE);
    const bytes = new Uint8Array(memory.buffer);
    touchAll(bytes);
    const before = residentBytesOfMapping('self', SIZE);
    expect(before).toBeGreaterThanOrEqual(SIZE - PAGE_SIZE);
    memory.discard(PAGE_SIZE, 1024 * PAGE_SIZE);
    const after = residentBytesOfMapping('self', SIZE);
    expect(before - after).toBeGreaterThanOrEqual(4 * MIB - PAGE_SIZE);
    expect(bytes[0]).toBe(0xa5);
    expect(bytes[PAGE_SIZE]).toBe(0);
    expect(bytes[1024 * PAGE_SIZE]).toBe(0);
    expect(bytes[1025 * PAGE_SIZE]).toBe(0xa5);
    // A discarded page is ordinary RAM again when written.
    bytes[PAGE_SIZE + 5] = 9;
    expect(bytes[PAGE_SIZE + 5]).toBe(9);
  });

  it.each<[string, number, number]>([
    ['an unaligned offset', 1, PAGE_SIZE],
    ['an unaligned length', 0, PAGE_SIZE + 1],
    ['a range past the end', SIZE - PAGE_SIZE, 2 * PAGE_SIZE],
    ['an offset past the end', SIZE + PAGE_SIZE, PAGE_SIZE],
    ['a negative offset (the guard page below)', -PAGE_SIZE, PAGE_SIZE],
    ['a huge length', 0, 2 ** 52],
    ['NaN', Number.NaN, PAGE_SIZE],
    ['a fraction', PAGE_SIZE / 2, PAGE_SIZE],
  ])('refuses %s and leaves the RAM as it was', (_what, offset, length) => {
    const memory = createGuestMemory(SIZE);
    const bytes = new Uint8Array(memory.buffer);
    touchAll(bytes);
    expect(() => memory.discard(offset, length)).toThrow(RangeError);
    for (let i = 0; i < bytes.length; i += PAGE_SIZE) if (bytes[i] !== 0xa5) throw new Error(`page ${i / PAGE_SIZE} changed`);
  });

  it('refuses arguments that are not numbers', () => {
    const memory = createGuestMemory(SIZE) as unknown as { discard(...args: unknown[]): void };
    expect(() => memory.discard('0', PAGE_SIZE)).toThrow(RangeError);
    expect(() => memory.discard(0)).toThrow(RangeError);
  });

  it('through GuestMemoryMap: guest-physical pages of the region that holds them; ranges outside RAM refused', () => {
    const low = new GuestRam(0, 16 * PAGE_SIZE);
    const map = new GuestMemoryMap([low]);
    low.fill(0, 16 * PAGE_SIZE, 0x11);
    map.discard(4 * PAGE_SIZE, 2 * PAGE_SIZE);
    expect(map.view(4 * PAGE_SIZE, 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(map.view(6 * PAGE_SIZE, 1)[0]).toBe(0x11);
    expect(() => map.discard(15 * PAGE_SIZE, 2 * PAGE_SIZE)).toThrow(/not inside guest RAM/);
    expect(() => map.discard(PAGE_SIZE + 8, PAGE_SIZE)).toThrow(/not whole pages/);
  });
});
