import { describe, expect, it } from 'vitest';
import { loadRaw } from '../../../engine/src/loader/raw';
import { LoaderError } from '../../../engine/src/loader/loader-error';
import { ArrayGuestMemory } from './array-guest-memory';
import { pattern } from './elf-builder';

const RAM = 2 * 1024 * 1024;

function rejected(run: () => unknown): LoaderError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LoaderError);
    return error as LoaderError;
  }
  throw new Error('expected a LoaderError');
}

describe('loadRaw', () => {
  it('copies the image to the load address and reports the given entry', () => {
    const memory = new ArrayGuestMemory(RAM);
    const image = pattern(0x300);
    expect(loadRaw(image, memory, { loadAddress: 0x100000, entry: 0x100100 })).toEqual({
      format: 'raw',
      entry: 0x100100,
      lowestAddress: 0x100000,
      highestAddress: 0x100300,
    });
    expect(memory.read(0x100000, 0x300)).toEqual(image);
  });

  it('fits exactly at the end of RAM', () => {
    const memory = new ArrayGuestMemory(RAM);
    expect(loadRaw(pattern(0x1000), memory, { loadAddress: RAM - 0x1000, entry: RAM - 0x1000 }).highestAddress).toBe(RAM);
  });

  it('rejects an image running past the end of RAM without writing', () => {
    const memory = new ArrayGuestMemory(RAM);
    const error = rejected(() => loadRaw(pattern(0x1001), memory, { loadAddress: RAM - 0x1000, entry: RAM - 0x1000 }));
    expect(error.step).toBe('fit');
    expect(error.message).toMatch(/raw image: 0x1ff000\.\.0x200001 runs past the end of guest RAM at 0x200000/);
    expect(memory.writes).toBe(0);
  });

  it('rejects a load address below 1 MiB, an entry outside the image, an empty image and bad numbers', () => {
    const memory = new ArrayGuestMemory(RAM);
    expect(rejected(() => loadRaw(pattern(16), memory, { loadAddress: 0x7c00, entry: 0x7c00 }))).toMatchObject({ step: 'fit' });
    expect(rejected(() => loadRaw(pattern(16), memory, { loadAddress: 0x100000, entry: 0x100010 }))).toMatchObject({
      step: 'entry',
      message: 'raw image entry 0x100010 is outside the image at 0x100000..0x100010',
    });
    expect(rejected(() => loadRaw(new Uint8Array(0), memory, { loadAddress: 0x100000, entry: 0x100000 }))).toMatchObject({ step: 'format' });
    expect(rejected(() => loadRaw(pattern(16), memory, { loadAddress: -1, entry: 0 }))).toMatchObject({ step: 'fit' });
    expect(rejected(() => loadRaw(pattern(16), memory, { loadAddress: 0x100000, entry: 0.5 }))).toMatchObject({ step: 'fit' });
    expect(memory.writes).toBe(0);
  });

  it('honours an explicit lower load minimum', () => {
    const memory = new ArrayGuestMemory(RAM);
    expect(loadRaw(pattern(16), memory, { loadAddress: 0x8000, entry: 0x8000, minAddress: 0 }).lowestAddress).toBe(0x8000);
  });
});
