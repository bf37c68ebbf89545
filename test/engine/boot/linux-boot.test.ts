/**
 * The Linux 64-bit boot set-up: the zero page a kernel reads, checked field by field against boot.rst and
 * zero-page.rst, for a synthetic bzImage and for Debian's real kernel (skipped with a reason when apt cannot fetch it).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupLinuxBoot } from '../../../engine/src/boot/linux';
import { memoryMap } from '../../../engine/src/boot/memory-map';
import { loadBzImage } from '../../../engine/src/loader/bzimage';
import { GiB, MiB } from '../../../engine/src/platform/layout';
import { fetchDebianVmlinuz, type Fetched } from '../../support/debian-package';
import { ArrayGuestMemory } from '../loader/array-guest-memory';
import { buildBzImage } from '../loader/bzimage-builder';

/** What a kernel finds by following %rsi, read the way boot.rst describes each field. */
function readZeroPage(memory: ArrayGuestMemory, rsi: number) {
  const page = memory.read(rsi, 0x1000);
  const view = new DataView(page.buffer);
  const u32 = (at: number) => view.getUint32(at, true);
  const cmdLinePtr = u32(0x228) + u32(0x0c8) * 2 ** 32;
  const cmdlineEnd = memory.bytes.indexOf(0, cmdLinePtr);
  const e820 = Array.from({ length: page[0x1e8] }, (_, i) => ({
    addr: Number(view.getBigUint64(0x2d0 + i * 20, true)),
    size: Number(view.getBigUint64(0x2d0 + i * 20 + 8, true)),
    type: u32(0x2d0 + i * 20 + 16),
  }));
  return {
    page,
    typeOfLoader: page[0x210],
    loadflags: page[0x211],
    heapEndPtr: view.getUint16(0x224, true),
    sentinel: page[0x1ef],
    cmdLinePtr,
    cmdline: Buffer.from(memory.bytes.subarray(cmdLinePtr, cmdlineEnd)).toString('utf8'),
    ramdiskImage: u32(0x218) + u32(0x0c0) * 2 ** 32,
    ramdiskSize: u32(0x21c) + u32(0x0c4) * 2 ** 32,
    acpiRsdpAddr: Number(view.getBigUint64(0x070, true)),
    setupData: view.getBigUint64(0x250, true),
    e820,
  };
}

/** Fields a loader writes; every other header byte must be the image's. */
const LOADER_WRITTEN = new Set<number>([
  0x210, 0x211, // type_of_loader, loadflags
  0x218, 0x219, 0x21a, 0x21b, 0x21c, 0x21d, 0x21e, 0x21f, // ramdisk_image, ramdisk_size
  0x224, 0x225, // heap_end_ptr
  0x228, 0x229, 0x22a, 0x22b, // cmd_line_ptr
  0x250, 0x251, 0x252, 0x253, 0x254, 0x255, 0x256, 0x257, // setup_data
]);

/** Checks one boot against boot.rst's rules, reading every limit from the image's own header. */
function checkAgainstBootRst(image: Uint8Array, ramBytes: number, cmdline: string, initrd?: Uint8Array) {
  const memory = new ArrayGuestMemory(Math.min(ramBytes, 3 * GiB));
  const loaded = loadBzImage(image, memory);
  const setup = setupLinuxBoot(memory, { entry: loaded.entry, kernel: loaded.linux, cmdline, memoryBytes: ramBytes, initrd });
  const imageView = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const headerEnd = 0x202 + image[0x201];
  const zp = readZeroPage(memory, setup.cpu.regs.rsi);

  // The CPU enters at load + 0x200 with %rsi at the zero page.
  expect(setup.cpu.regs.rip).toBe(loaded.linux.loadAddress + 0x200);
  expect(setup.cpu.regs.rsi).toBe(setup.zeroPageGpa);
  // The setup header copied 0x1f1 .. 0x202 + byte[0x201], loader fields aside; nothing past it but zeros.
  for (let at = 0x1f1; at < headerEnd; at++) {
    if (!LOADER_WRITTEN.has(at)) expect(zp.page[at], `zero page byte ${at.toString(16)}`).toBe(image[at]);
  }
  expect(Buffer.from(zp.page.subarray(0x202, 0x206)).toString('latin1')).toBe('HdrS');
  expect(zp.page.subarray(headerEnd, 0x2d0).every((b) => b === 0)).toBe(true);
  expect(zp.sentinel).toBe(0);
  expect(zp.typeOfLoader).toBe(0xff);
  expect(zp.loadflags & 0x01).toBe(0x01); // LOADED_HIGH
  expect(zp.loadflags & 0x80).toBe(0); // no CAN_USE_HEAP: the real-mode setup code never runs
  expect(zp.setupData).toBe(0n);
  // cmd_line_ptr points at the NUL-terminated cmdline, within cmdline_size.
  expect(zp.cmdline).toBe(cmdline);
  expect(Buffer.byteLength(cmdline)).toBeLessThanOrEqual(imageView.getUint32(0x238, true));
  // e820: the platform map, sorted, non-overlapping, RAM around the kernel's whole init_size.
  expect(zp.e820).toEqual(memoryMap(ramBytes));
  zp.e820.slice(1).forEach((entry, i) => expect(entry.addr).toBeGreaterThanOrEqual(zp.e820[i].addr + zp.e820[i].size));
  const inRam = (start: number, end: number) => zp.e820.some((e) => e.type === 1 && e.addr <= start && end <= e.addr + e.size);
  expect(inRam(loaded.linux.loadAddress, loaded.linux.initEnd)).toBe(true);
  expect(zp.acpiRsdpAddr).toBe(0);
  if (!initrd) {
    expect([zp.ramdiskImage, zp.ramdiskSize]).toEqual([0, 0]);
    return { setup, zp, memory, loaded };
  }
  // Initrd: page aligned, above the kernel's init_size end, ending at or below initrd_addr_max and low RAM,
  // as high as possible (the next page up would not fit), in RAM, and holding the bytes given.
  const initrdAddrMax = imageView.getUint32(0x22c, true);
  const top = Math.min(initrdAddrMax + 1, memory.size);
  expect(zp.ramdiskSize).toBe(initrd.length);
  expect(zp.ramdiskImage % 4096).toBe(0);
  expect(zp.ramdiskImage).toBeGreaterThanOrEqual(loaded.linux.initEnd);
  expect(zp.ramdiskImage + initrd.length).toBeLessThanOrEqual(top);
  expect(zp.ramdiskImage + 4096 + initrd.length).toBeGreaterThan(top);
  expect(inRam(zp.ramdiskImage, zp.ramdiskImage + initrd.length)).toBe(true);
  expect(Buffer.compare(memory.read(zp.ramdiskImage, initrd.length), initrd)).toBe(0);
  return { setup, zp, memory, loaded };
}

const initrdBytes = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 13) & 0xff);

describe('setupLinuxBoot with a synthetic bzImage', () => {
  it('fills the zero page by the rules of boot.rst', () => {
    checkAgainstBootRst(buildBzImage(), 64 * MiB, 'console=ttyS0 root=/dev/vda');
  });

  it('places the initrd as high as it may go below initrd_addr_max', () => {
    const { zp } = checkAgainstBootRst(buildBzImage({ initrdAddrMax: 0x37ffffff }), 2 * GiB, 'quiet', initrdBytes(12345));
    expect(zp.ramdiskImage).toBe(0x38000000 - 16384);
  });

  it('places the initrd at the top of low RAM when that is lower, and never below the kernel', () => {
    const { zp } = checkAgainstBootRst(buildBzImage(), 64 * MiB, '', initrdBytes(5000));
    expect(zp.ramdiskImage).toBe(64 * MiB - 8192);
    const memory = new ArrayGuestMemory(64 * MiB);
    const loaded = loadBzImage(buildBzImage({ initSize: 40 * MiB }), memory);
    const writes = memory.writes;
    expect(() =>
      setupLinuxBoot(memory, { entry: loaded.entry, kernel: loaded.linux, cmdline: '', memoryBytes: 64 * MiB, initrd: new Uint8Array(16 * MiB) }),
    ).toThrow(expect.objectContaining({ step: 'initrd', message: expect.stringMatching(/does not fit between the kernel's init_size end 0x3800000/) }));
    expect(memory.writes).toBe(writes);
  });

  it('lists the RAM above 4 GiB in the e820 table of a large guest', () => {
    const { zp } = checkAgainstBootRst(buildBzImage(), 4 * GiB, 'x');
    expect(zp.e820.at(-1)).toEqual({ addr: 4 * GiB, size: GiB, type: 1 });
  });

  it('passes an ACPI RSDP address when given one', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    const loaded = loadBzImage(buildBzImage(), memory);
    const setup = setupLinuxBoot(memory, { entry: loaded.entry, kernel: loaded.linux, cmdline: '', memoryBytes: 64 * MiB, rsdpGpa: 0xe0000 });
    expect(readZeroPage(memory, setup.zeroPageGpa).acpiRsdpAddr).toBe(0xe0000);
  });

  it("refuses a cmdline longer than the kernel's cmdline_size, writing nothing", () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    const loaded = loadBzImage(buildBzImage({ cmdlineSize: 16 }), memory);
    const writes = memory.writes;
    expect(() => setupLinuxBoot(memory, { entry: loaded.entry, kernel: loaded.linux, cmdline: 'x'.repeat(17), memoryBytes: 64 * MiB })).toThrow(
      expect.objectContaining({ step: 'cmdline', message: expect.stringMatching(/cmdline_size allows 16/) }),
    );
    expect(memory.writes).toBe(writes);
  });
});

describe("setupLinuxBoot with Debian's vmlinuz", () => {
  let fetched: Fetched = { skip: 'not fetched yet' };
  let image = new Uint8Array(0);
  beforeAll(async () => {
    fetched = await fetchDebianVmlinuz();
    if ('skip' in fetched) console.warn(`skipping real-image Linux boot tests: ${fetched.skip}`);
    else image = new Uint8Array(readFileSync(fetched.path));
  }, 330_000);

  it('fills the zero page by the rules of boot.rst, with an initrd', (ctx) => {
    if ('skip' in fetched) ctx.skip(fetched.skip);
    checkAgainstBootRst(image, 256 * MiB, 'console=ttyS0 earlyprintk=serial rdinit=/init', initrdBytes(3 * MiB + 17));
  });

  it('fills it the same way at the aligned fallback address, without an initrd', (ctx) => {
    if ('skip' in fetched) ctx.skip(fetched.skip);
    const { loaded } = checkAgainstBootRst(image, 72 * MiB, 'console=ttyS0');
    expect(loaded.linux.loadAddress).toBeLessThan(Number(new DataView(image.buffer).getBigUint64(0x258, true)));
  });
});
