/**
 * The loader against Debian's real kernel (the package behind linux-image-amd64), checked against the rules of
 * Documentation/arch/x86/boot.rst read from the image's own header, never against one build's constants.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadBzImage } from '../../../engine/src/loader/bzimage';
import { MiB } from '../../../engine/src/platform/layout';
import { fetchDebianVmlinuz, type Fetched } from '../../support/debian-package';
import { ArrayGuestMemory } from './array-guest-memory';

let fetched: Fetched = { skip: 'not fetched yet' };
let image = new Uint8Array(0);
let view = new DataView(image.buffer);

beforeAll(async () => {
  fetched = await fetchDebianVmlinuz();
  if ('skip' in fetched) console.warn(`skipping real-image bzImage tests: ${fetched.skip}`);
  else {
    image = new Uint8Array(readFileSync(fetched.path));
    view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  }
}, 330_000);
// No apt or no network: every test here is skipped with the reason printed above.
beforeEach((ctx) => {
  if ('skip' in fetched) ctx.skip(fetched.skip);
});

/** The header as boot.rst defines it, read straight from the file. */
const hdr = {
  setupSects: () => image[0x1f1] || 4,
  syssize: () => view.getUint32(0x1f4, true),
  relocatable: () => image[0x234] !== 0,
  kernelAlignment: () => view.getUint32(0x230, true),
  prefAddress: () => Number(view.getBigUint64(0x258, true)),
  initSize: () => view.getUint32(0x260, true),
};
const alignUp = (value: number, alignment: number) => Math.ceil(value / alignment) * alignment;

describe("Debian's vmlinuz (linux-image-amd64)", () => {
  it('is a 64-bit relocatable bzImage whose header the loader accepts', () => {
    expect(view.getUint16(0x1fe, true)).toBe(0xaa55);
    expect(view.getUint16(0x206, true)).toBeGreaterThanOrEqual(0x020c);
    expect(view.getUint16(0x236, true) & 1).toBe(1);
  });

  it('goes to pref_address when init_size fits there, entry at +0x200, bytes from after the setup sectors', () => {
    const pref = hdr.prefAddress();
    const ram = alignUp(pref + hdr.initSize(), MiB) + 16 * MiB;
    const memory = new ArrayGuestMemory(ram);
    const loaded = loadBzImage(image, memory);
    expect(loaded.linux.loadAddress).toBe(pref);
    expect(loaded.entry).toBe(pref + 0x200);
    expect(loaded.linux.initEnd).toBe(pref + hdr.initSize());
    const setupSize = (hdr.setupSects() + 1) * 512;
    const kernelBytes = Math.min(hdr.syssize() * 16, image.length - setupSize);
    expect(loaded.linux.kernelSize).toBe(kernelBytes);
    expect(Buffer.compare(memory.read(pref, kernelBytes), image.subarray(setupSize, setupSize + kernelBytes))).toBe(0);
    // The header handed to the zero page: 0x1f1 up to 0x202 + the jump displacement byte at 0x201.
    expect(Buffer.compare(loaded.linux.setupHeader, image.subarray(0x1f1, 0x202 + image[0x201]))).toBe(0);
  });

  it('falls back to the lowest kernel_alignment-aligned address from 1 MiB when pref_address does not fit', () => {
    expect(hdr.relocatable()).toBe(true);
    const fallback = alignUp(MiB, hdr.kernelAlignment());
    // Enough RAM for init_size at the fallback, not at pref_address.
    const ram = alignUp(fallback + hdr.initSize(), MiB);
    expect(ram).toBeLessThan(hdr.prefAddress() + hdr.initSize());
    const loaded = loadBzImage(image, new ArrayGuestMemory(ram));
    expect(loaded.linux.loadAddress).toBe(fallback);
    expect(loaded.linux.loadAddress % hdr.kernelAlignment()).toBe(0);
    expect(loaded.entry).toBe(fallback + 0x200);
  });

  it('refuses RAM too small for init_size, saying so, and writes nothing', () => {
    const memory = new ArrayGuestMemory(alignUp(hdr.initSize(), MiB));
    expect(() => loadBzImage(image, memory)).toThrow(expect.objectContaining({ step: 'fit', message: expect.stringMatching(/^init_size 0x[0-9a-f]+ does not fit in guest RAM/) }));
    expect(memory.writes).toBe(0);
  });

  it('refuses the same image truncated in its kernel, or with its magic broken', () => {
    const memory = new ArrayGuestMemory(256 * MiB);
    expect(() => loadBzImage(image.subarray(0, image.length >> 1), memory)).toThrow(expect.objectContaining({ step: 'segment', message: expect.stringMatching(/truncated/) }));
    const broken = image.slice(0, 0x1000);
    broken[0x203] = 0;
    expect(() => loadBzImage(broken, memory)).toThrow(expect.objectContaining({ step: 'setup-header', message: expect.stringMatching(/not "HdrS"/) }));
    expect(memory.writes).toBe(0);
  });
});
