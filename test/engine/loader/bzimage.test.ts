import { describe, expect, it } from 'vitest';
import { loadBzImage } from '../../../engine/src/loader/bzimage';
import { loadKernelBytes } from '../../../engine/src/loader/kernel-loader';
import { LoaderError } from '../../../engine/src/loader/loader-error';
import { MiB } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from './array-guest-memory';
import { buildBzImage, kernelPattern, type BzImageOptions } from './bzimage-builder';

function rejected(options: BzImageOptions, ram = 64 * MiB): LoaderError {
  const memory = new ArrayGuestMemory(ram);
  try {
    loadBzImage(buildBzImage(options), memory);
  } catch (error) {
    expect(error).toBeInstanceOf(LoaderError);
    // A rejected image leaves guest memory untouched.
    expect(memory.writes).toBe(0);
    return error as LoaderError;
  }
  throw new Error('expected a LoaderError');
}

describe('loadBzImage', () => {
  it('copies the protected-mode kernel to pref_address and enters at +0x200', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    const kernel = kernelPattern(0x3000);
    const loaded = loadBzImage(buildBzImage({ setupSects: 3, kernel, prefAddress: 0x1000000n, initSize: 0x800000 }), memory);
    expect(loaded).toMatchObject({ format: 'bzimage', entry: 0x1000200, lowestAddress: 0x1000000, highestAddress: 0x1800000 });
    expect(loaded.linux).toMatchObject({ loadAddress: 0x1000000, kernelSize: 0x3000, initEnd: 0x1800000 });
    expect(memory.read(0x1000000, 0x3000)).toEqual(kernel);
    // The setup sectors are not loaded anywhere: the 64-bit entry never runs them.
    expect(memory.writes).toBe(1);
    // The header bytes handed to the boot set-up run from 0x1f1 to 0x202 + the jump displacement.
    expect(loaded.linux.setupHeader.length).toBe(0x202 + 0x6a - 0x1f1);
    expect(Buffer.from(loaded.linux.setupHeader.subarray(0x202 - 0x1f1, 0x206 - 0x1f1)).toString('latin1')).toBe('HdrS');
  });

  it('reads setup_sects = 0 as 4 sectors', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    const kernel = kernelPattern(0x800);
    loadBzImage(buildBzImage({ setupSects: 0, kernel }), memory);
    expect(memory.read(0x1000000, 0x800)).toEqual(kernel);
  });

  it('falls back to the lowest kernel_alignment-aligned address above 1 MiB when pref_address does not fit', () => {
    const memory = new ArrayGuestMemory(24 * MiB);
    // pref 16 MiB + 12 MiB of init_size needs 28 MiB: the relocatable kernel goes to 2 MiB instead.
    const loaded = loadBzImage(buildBzImage({ prefAddress: 0x1000000n, initSize: 12 * MiB, kernelAlignment: 0x200000 }), memory);
    expect(loaded.linux.loadAddress).toBe(0x200000);
    expect(loaded.entry).toBe(0x200200);
    // A 1 MiB alignment puts it right at the 1 MiB load minimum.
    const low = loadBzImage(buildBzImage({ prefAddress: 0x40000000n, kernelAlignment: 0x100000 }), new ArrayGuestMemory(24 * MiB));
    expect(low.linux.loadAddress).toBe(0x100000);
    // A misaligned pref_address of a relocatable kernel is not used either.
    const misaligned = loadBzImage(buildBzImage({ prefAddress: 0x1001000n }), new ArrayGuestMemory(64 * MiB));
    expect(misaligned.linux.loadAddress).toBe(0x200000);
  });

  it('refuses a non-relocatable kernel whose pref_address does not fit', () => {
    expect(rejected({ relocatable: false, prefAddress: 0x1000000n, initSize: 12 * MiB }, 24 * MiB)).toMatchObject({
      step: 'fit',
      message: expect.stringMatching(/init_size.*non-relocatable.*past the end of guest RAM/),
    });
  });

  it.each<[string, BzImageOptions, string, RegExp]>([
    ['a truncated boot sector', { truncateTo: 300 }, 'setup-header', /truncated bzImage: 300 bytes/],
    ['a bad boot flag', { bootFlag: 0x1234 }, 'setup-header', /boot_flag is 0x1234, not 0xaa55/],
    ['a bad header magic', { magic: 'HdrX' }, 'setup-header', /header magic at 0x202.*not "HdrS"/],
    ['protocol 2.11', { version: 0x020b }, 'setup-header', /boot protocol version 2\.11 is older than 2\.12/],
    ['no LOADED_HIGH (a zImage)', { loadflags: 0 }, 'setup-header', /loadflags lacks LOADED_HIGH/],
    ['no XLF_KERNEL_64', { xloadflags: 0x2 }, 'setup-header', /xloadflags 0x2 lacks XLF_KERNEL_64/],
    ['setup_sects past the end of the file', { setupSects: 200, truncateTo: 0x1400 }, 'setup-header', /setup_sects 200 .* past the end of the/],
    ['a header length past the zero page room', { headerLength: 0xa0 }, 'setup-header', /setup header length: it ends at 0x2a2/],
    ['syssize 0', { syssize: 0 }, 'segment', /syssize is 0/],
    ['syssize past the end of the file', { syssize: 0x1000 }, 'segment', /syssize: the protected-mode kernel \(0x10000 bytes at 0x400\) runs past the end/],
    ['a truncated kernel', { truncateTo: 0x400 + 0x800 }, 'segment', /syssize: .* runs past the end of the 3072-byte image \(truncated\?\)/],
    ['init_size smaller than the kernel', { initSize: 0x800 }, 'setup-header', /init_size 0x800 is smaller than the 0x1000-byte kernel/],
    ['a kernel_alignment that is not a power of two', { kernelAlignment: 0x300000 }, 'setup-header', /kernel_alignment 0x300000 is not a power of two/],
    ['a kernel ending before its 64-bit entry', { kernel: kernelPattern(0x200) }, 'entry', /ends before its 64-bit entry at \+0x200/],
    ['init_size larger than RAM', { initSize: 0xf000000 }, 'fit', /init_size 0xf000000 does not fit in guest RAM \(0x4000000 bytes\) at pref_address 0x1000000 nor at the aligned fallback 0x200000/],
    ['a pref_address near 2^64 with init_size too big for RAM', { prefAddress: 0xffff_ffff_ffff_f000n, initSize: 0xf000000 }, 'fit', /pref_address 0xfffffffffffff000/],
  ])('refuses %s with an error naming the check', (_, options, step, message) => {
    expect(rejected(options)).toMatchObject({ step, message: expect.stringMatching(message) });
  });

  it('is what auto-detection and the linux format pick for a bzImage; linux refuses anything else', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    expect(loadKernelBytes(buildBzImage(), memory, { kind: 'auto' })).toMatchObject({ format: 'bzimage', entry: 0x1000200 });
    expect(loadKernelBytes(buildBzImage(), memory, { kind: 'linux' })).toMatchObject({ format: 'bzimage' });
    expect(() => loadKernelBytes(kernelPattern(0x1000), memory, { kind: 'linux' })).toThrow(
      expect.objectContaining({ step: 'format', message: expect.stringMatching(/not a Linux bzImage/) }),
    );
  });
});
