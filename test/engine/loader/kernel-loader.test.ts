import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKernelFormat } from '../../../engine/src/loader/detect';
import { loadKernel, loadKernelBytes } from '../../../engine/src/loader/kernel-loader';
import { LoaderError } from '../../../engine/src/loader/loader-error';
import { ArrayGuestMemory } from './array-guest-memory';
import { buildElf, IMAGE, pattern, PT_LOAD, pvhImage } from './elf-builder';

const RAM = 4 * 1024 * 1024;

/** Enough of a bzImage for detection: boot sector signature and the "HdrS" setup header magic. */
function fakeBzImage(): Uint8Array {
  const image = new Uint8Array(0x1000);
  image[0x1fe] = 0x55;
  image[0x1ff] = 0xaa;
  image.set(Buffer.from('HdrS', 'latin1'), 0x202);
  return image;
}

function rejectedSync(run: () => unknown): LoaderError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LoaderError);
    return error as LoaderError;
  }
  throw new Error('expected a LoaderError');
}

describe('detectKernelFormat', () => {
  it('tells ELF, bzImage and anything else apart by magic', () => {
    expect(detectKernelFormat(pvhImage(64))).toBe('elf');
    expect(detectKernelFormat(fakeBzImage())).toBe('bzimage');
    expect(detectKernelFormat(pattern(0x1000))).toBe('unknown');
    expect(detectKernelFormat(new Uint8Array(0))).toBe('unknown');
    expect(detectKernelFormat(Buffer.from('HdrS'))).toBe('unknown');
  });
});

describe('loadKernelBytes', () => {
  it('loads an ELF with a PVH note in auto mode', () => {
    expect(loadKernelBytes(pvhImage(32), new ArrayGuestMemory(RAM), { kind: 'auto' })).toMatchObject({
      format: 'pvh-elf',
      entry: IMAGE.entry,
    });
  });

  it('rejects an ELF without a PVH note, saying so', () => {
    const image = buildElf({
      elfClass: 64,
      programHeaders: [{ type: PT_LOAD, offset: 0x1000, paddr: 0x100000, filesz: 0x10, memsz: 0x10 }],
      blobs: [{ offset: 0x1000, bytes: pattern(0x10) }],
    });
    expect(rejectedSync(() => loadKernelBytes(image, new ArrayGuestMemory(RAM), { kind: 'auto' }))).toMatchObject({
      step: 'pvh-note',
      message: expect.stringContaining('no PVH entry note'),
    });
  });

  it('hands a bzImage to the Linux loader, whose header checks refuse a header-only fake without writing', () => {
    const memory = new ArrayGuestMemory(RAM);
    expect(rejectedSync(() => loadKernelBytes(fakeBzImage(), memory, { kind: 'auto' }))).toMatchObject({
      step: 'setup-header',
      message: expect.stringContaining('boot protocol version 0.0'),
    });
    expect(memory.writes).toBe(0);
  });

  it('rejects anything else as an unrecognised format and never guesses raw', () => {
    expect(rejectedSync(() => loadKernelBytes(pattern(0x1000), new ArrayGuestMemory(RAM), { kind: 'auto' }))).toMatchObject({
      step: 'format',
      message: expect.stringMatching(/^unrecognised kernel format/),
    });
  });

  it('loads any bytes, even an ELF, as raw when asked to', () => {
    const image = pvhImage(64);
    const memory = new ArrayGuestMemory(RAM);
    expect(loadKernelBytes(image, memory, { kind: 'raw', loadAddress: 0x200000, entry: 0x200000 })).toMatchObject({
      format: 'raw',
      highestAddress: 0x200000 + image.length,
    });
    expect(memory.read(0x200000, image.length)).toEqual(image);
  });
});

describe('loadKernel from a path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hv-loader-'));

  it('reads the file and loads it', async () => {
    const path = join(dir, 'kernel.elf');
    writeFileSync(path, pvhImage(64));
    await expect(loadKernel(path, new ArrayGuestMemory(RAM))).resolves.toMatchObject({ entry: IMAGE.entry });
  });

  it('reports a missing file or a directory as a read error naming the path', async () => {
    const missing = join(dir, 'missing');
    await expect(loadKernel(missing, new ArrayGuestMemory(RAM))).rejects.toMatchObject({
      step: 'read',
      message: expect.stringContaining(missing),
    });
    await expect(loadKernel(dir, new ArrayGuestMemory(RAM))).rejects.toMatchObject({
      step: 'read',
      message: `kernel image ${dir} is not a regular file`,
    });
  });
});
