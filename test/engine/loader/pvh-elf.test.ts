import { describe, expect, it } from 'vitest';
import { loadPvhElf } from '../../../engine/src/loader/pvh-elf';
import { LoaderError, type LoaderStep } from '../../../engine/src/loader/loader-error';
import { ArrayGuestMemory } from './array-guest-memory';
import {
  buildElf,
  concat,
  IMAGE,
  note,
  pattern,
  PT_LOAD,
  PT_NOTE,
  pvhImage,
  SHT_NOTE,
  SHT_PROGBITS,
  u32le,
  u64le,
} from './elf-builder';

const RAM = 4 * 1024 * 1024;
/** Memory pre-filled with this byte shows which bytes a load touched. */
const POISON = 0xaa;

function poisonedMemory(size = RAM): ArrayGuestMemory {
  const memory = new ArrayGuestMemory(size);
  memory.bytes.fill(POISON);
  memory.writes = 0;
  return memory;
}

/** Loads image expecting a LoaderError of step whose message matches; checks nothing was written. */
function expectRejected(image: Uint8Array, step: LoaderStep, message: RegExp, memory = poisonedMemory()): LoaderError {
  let caught: unknown;
  try {
    loadPvhElf(image, memory);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LoaderError);
  const error = caught as LoaderError;
  expect({ step: error.step, message: error.message }).toMatchObject({ step, message: expect.stringMatching(message) });
  expect(memory.writes).toBe(0);
  return error;
}

describe.each([32, 64] as const)('loadPvhElf, ELF%i', (elfClass) => {
  it('copies p_filesz bytes to p_paddr, zeroes up to p_memsz and reports the PVH entry and extent', () => {
    const memory = poisonedMemory();
    const loaded = loadPvhElf(pvhImage(elfClass), memory);
    expect(loaded).toEqual({
      format: 'pvh-elf',
      entry: IMAGE.entry,
      lowestAddress: IMAGE.loadAddress,
      highestAddress: IMAGE.loadAddress + IMAGE.memSize,
    });
    expect(memory.read(IMAGE.loadAddress, IMAGE.codeSize)).toEqual(pattern(IMAGE.codeSize));
    expect(memory.read(IMAGE.loadAddress + IMAGE.codeSize, IMAGE.memSize - IMAGE.codeSize).every((b) => b === 0)).toBe(true);
    expect(memory.bytes[IMAGE.loadAddress - 1]).toBe(POISON);
    expect(memory.bytes[IMAGE.loadAddress + IMAGE.memSize]).toBe(POISON);
  });

  it('loads several segments and reports the lowest and highest address over all of them', () => {
    const noteBytes = note({ desc: u32le(0x200000) });
    const image = buildElf({
      elfClass,
      programHeaders: [
        { type: PT_LOAD, offset: 0x1000, paddr: 0x300000, filesz: 0x10, memsz: 0x1000 },
        { type: PT_LOAD, offset: 0x1010, paddr: 0x200000, filesz: 0x10, memsz: 0x10 },
        { type: PT_LOAD, offset: 0, paddr: 0x10, filesz: 0, memsz: 0 }, // empty: ignored even below 1 MiB
        { type: PT_NOTE, offset: 0x800, paddr: 0, filesz: noteBytes.length, memsz: 0 },
      ],
      blobs: [
        { offset: 0x800, bytes: noteBytes },
        { offset: 0x1000, bytes: pattern(0x20) },
      ],
    });
    const memory = poisonedMemory();
    expect(loadPvhElf(image, memory)).toMatchObject({ entry: 0x200000, lowestAddress: 0x200000, highestAddress: 0x301000 });
    expect(memory.read(0x200000, 0x10)).toEqual(pattern(0x20).subarray(0x10));
    expect(memory.read(0x300000, 0x10)).toEqual(pattern(0x20).subarray(0, 0x10));
  });

  it('rejects a truncated ELF header', () => {
    expectRejected(pvhImage(elfClass).subarray(0, 40), 'parse-elf', /truncated ELF header/);
    expectRejected(pvhImage(elfClass).subarray(0, 10), 'parse-elf', /truncated ELF identification/);
  });

  it('rejects bad magic, big endian, non-executables and non-x86 machines', () => {
    const badMagic = pvhImage(elfClass);
    badMagic[1] = 0x45 ^ 0x20;
    expectRejected(badMagic, 'parse-elf', /bad magic/);
    expectRejected(pvhImage(elfClass, { spec: { data: 2 } }), 'parse-elf', /not little endian/);
    expectRejected(pvhImage(elfClass, { spec: { type: 3 } }), 'parse-elf', /ELF type 3 is not ET_EXEC/);
    expectRejected(pvhImage(elfClass, { spec: { machine: 40 } }), 'parse-elf', /machine 40 is not x86/);
  });

  it('rejects a program header table past the end of the file or with a short entry size', () => {
    expectRejected(pvhImage(elfClass, { spec: { phoff: 0x10000 } }), 'parse-elf', /program header table .* runs past the end/);
    expectRejected(pvhImage(elfClass, { spec: { phnum: 500 } }), 'parse-elf', /program header table/);
    expectRejected(pvhImage(elfClass, { spec: { phentsize: 16 } }), 'parse-elf', /entry size 16 is smaller/);
    expectRejected(pvhImage(elfClass, { spec: { phnum: 0 } }), 'parse-elf', /no program headers/);
  });

  it('rejects a segment whose file bytes run past the end of the file', () => {
    expectRejected(pvhImage(elfClass, { load: { offset: 0x10000 } }), 'segment', /program header 0 \(PT_LOAD\): file bytes .* past the end/);
    expectRejected(pvhImage(elfClass, { load: { filesz: 0x180, memsz: 0x200 } }), 'segment', /past the end of the \d+-byte image/);
  });

  it('rejects p_filesz > p_memsz', () => {
    expectRejected(pvhImage(elfClass, { load: { filesz: 0x80, memsz: 0x40 } }), 'segment', /p_filesz 0x80 exceeds p_memsz 0x40/);
  });

  it('rejects a segment past the end of guest RAM, also when only its zero-filled part is', () => {
    expectRejected(pvhImage(elfClass, { load: { paddr: RAM - 0x10 } }), 'fit', /runs past the end of guest RAM at 0x400000/);
    expectRejected(pvhImage(elfClass, { load: { paddr: RAM - IMAGE.codeSize } }), 'fit', /past the end of guest RAM/);
  });

  it('rejects a segment below the 1 MiB load minimum (it would cover the boot structures)', () => {
    expectRejected(pvhImage(elfClass, { load: { paddr: 0x6000 } }), 'fit', /below the kernel load minimum 0x100000/);
  });

  it('rejects a missing PVH note, naming the note it looked for', () => {
    const image = buildElf({
      elfClass,
      programHeaders: [{ type: PT_LOAD, offset: 0x1000, paddr: 0x100000, filesz: 0x10, memsz: 0x10 }],
      blobs: [{ offset: 0x1000, bytes: pattern(0x10) }],
    });
    expectRejected(image, 'pvh-note', /no PVH entry note \(name "Xen", type 18 XEN_ELFNOTE_PHYS32_ENTRY\)/);
  });

  it('rejects a PVH note with a descriptor that is neither 4 nor 8 bytes', () => {
    expectRejected(pvhImage(elfClass, { noteBytes: note({ desc: Uint8Array.of(0, 0) }) }), 'pvh-note', /descriptor is 2 bytes, expected 4 or 8/);
    expectRejected(pvhImage(elfClass, { noteBytes: note({ desc: new Uint8Array(12) }) }), 'pvh-note', /descriptor is 12 bytes/);
  });

  it('rejects a note whose sizes run past its PT_NOTE segment', () => {
    const noteBytes = note({ desc: u32le(IMAGE.entry), descsz: 0xffff_fff0 });
    expectRejected(pvhImage(elfClass, { noteBytes }), 'pvh-note', /runs past its end/);
  });

  it('rejects a PVH entry outside every loaded segment', () => {
    expectRejected(pvhImage(elfClass, { noteBytes: note({ desc: u32le(0x300000) }) }), 'entry', /PVH entry 0x300000 is outside every PT_LOAD segment/);
  });

  it('accepts an 8-byte descriptor below 4 GiB and rejects one above', () => {
    expect(loadPvhElf(pvhImage(elfClass, { noteBytes: note({ desc: u64le(IMAGE.entry) }) }), poisonedMemory()).entry).toBe(IMAGE.entry);
    expectRejected(pvhImage(elfClass, { noteBytes: note({ desc: u64le(0x1_0010_0000n) }) }), 'pvh-note', /not a 32-bit physical address/);
  });

  it('skips other notes and other owners before the PVH note', () => {
    const noteBytes = concat(
      note({ name: 'GNU', type: 3, desc: pattern(20) }),
      note({ name: 'Xen', type: 6, desc: u32le(0x1234) }), // XEN_ELFNOTE_LOADER, not the entry
      note({ name: 'Linux', type: 18, desc: u32le(0x1234) }), // right type, wrong owner
      note({ desc: u32le(IMAGE.entry) }),
    );
    expect(loadPvhElf(pvhImage(elfClass, { noteBytes }), poisonedMemory()).entry).toBe(IMAGE.entry);
  });

  it('finds the note in an SHT_NOTE section when no PT_NOTE segment has it', () => {
    const noteBytes = note({ desc: u32le(IMAGE.entry) });
    const image = buildElf({
      elfClass,
      programHeaders: [{ type: PT_LOAD, offset: 0x1000, paddr: 0x100000, filesz: 0x80, memsz: 0x80 }],
      sectionHeaders: [
        { type: SHT_PROGBITS, offset: 0x1000, size: 0x80 },
        { type: SHT_NOTE, offset: 0x800, size: noteBytes.length },
      ],
      blobs: [
        { offset: 0x800, bytes: noteBytes },
        { offset: 0x1000, bytes: pattern(0x80) },
      ],
    });
    expect(loadPvhElf(image, poisonedMemory()).entry).toBe(IMAGE.entry);
  });

  it('pads notes to 8 bytes in an 8-aligned note segment', () => {
    const noteBytes = concat(note({ name: 'GNU', type: 5, desc: pattern(12), align: 8 }), note({ desc: u32le(IMAGE.entry), align: 8 }));
    const image = buildElf({
      elfClass,
      programHeaders: [
        { type: PT_LOAD, offset: 0x1000, paddr: 0x100000, filesz: 0x80, memsz: 0x80 },
        { type: PT_NOTE, offset: 0x800, paddr: 0, filesz: noteBytes.length, memsz: 0, align: 8 },
      ],
      blobs: [
        { offset: 0x800, bytes: noteBytes },
        { offset: 0x1000, bytes: pattern(0x80) },
      ],
    });
    expect(loadPvhElf(image, poisonedMemory()).entry).toBe(IMAGE.entry);
  });

  it('rejects a PT_NOTE segment past the end of the file', () => {
    const image = buildElf({
      elfClass,
      programHeaders: [
        { type: PT_LOAD, offset: 0x1000, paddr: 0x100000, filesz: 0x80, memsz: 0x80 },
        { type: PT_NOTE, offset: 0x800, paddr: 0, filesz: 0x10000, memsz: 0 },
      ],
      blobs: [{ offset: 0x1000, bytes: pattern(0x80) }],
    });
    expectRejected(image, 'segment', /program header 1 \(PT_NOTE\): file bytes .* past the end/);
  });

  it('checks every segment before writing any: a bad second segment leaves memory untouched', () => {
    const noteBytes = note({ desc: u32le(IMAGE.entry) });
    const image = buildElf({
      elfClass,
      programHeaders: [
        { type: PT_LOAD, offset: 0x1000, paddr: IMAGE.loadAddress, filesz: 0x80, memsz: 0x80 },
        { type: PT_LOAD, offset: 0x1000, paddr: RAM, filesz: 0x80, memsz: 0x80 },
        { type: PT_NOTE, offset: 0x800, paddr: 0, filesz: noteBytes.length, memsz: 0 },
      ],
      blobs: [
        { offset: 0x800, bytes: noteBytes },
        { offset: 0x1000, bytes: pattern(0x80) },
      ],
    });
    const memory = poisonedMemory();
    expectRejected(image, 'fit', /program header 1/, memory);
    expect(memory.bytes.every((b) => b === POISON)).toBe(true);
  });
});

describe('loadPvhElf, 64-bit values', () => {
  it('rejects p_paddr + p_memsz that overflows 64 bits', () => {
    expectRejected(
      pvhImage(64, { load: { paddr: 0xffff_ffff_ffff_f000n, memsz: 0x2000n } }),
      'fit',
      /0xfffffffffffff000 \+ size 0x2000 overflows 64 bits/,
    );
  });

  it('rejects a p_memsz beyond any RAM without losing precision', () => {
    expectRejected(pvhImage(64, { load: { memsz: 0x8000_0000_0000_0000n } }), 'fit', /past the end of guest RAM/);
  });

  it('rejects p_offset + p_filesz beyond 2^64 as a file range problem', () => {
    expectRejected(
      pvhImage(64, { load: { offset: 0xffff_ffff_ffff_ff00n, filesz: 0x200n, memsz: 0x200n } }),
      'segment',
      /file bytes 0xffffffffffffff00\.\.0x10000000000000100 run past the end/,
    );
  });

  it('rejects a program header offset beyond 2^53 without wrapping', () => {
    expectRejected(pvhImage(64, { spec: { phoff: 0x20_0000_0000_0000n } }), 'parse-elf', /program header table/);
  });
});
