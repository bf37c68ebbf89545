/**
 * Builds small ELF32/ELF64 images byte by byte for loader tests, including deliberately broken ones.
 * Written from the ELF specification independently of engine/src/loader/parse-elf.ts.
 */

export type Int = number | bigint;

export interface ProgramHeaderSpec {
  type: number;
  offset: Int;
  paddr: Int;
  filesz: Int;
  memsz: Int;
  vaddr?: Int;
  flags?: number;
  align?: Int;
}

export interface SectionHeaderSpec {
  type: number;
  offset: Int;
  size: Int;
  addralign?: Int;
}

export interface ElfSpec {
  elfClass: 32 | 64;
  programHeaders: ProgramHeaderSpec[];
  sectionHeaders?: SectionHeaderSpec[];
  /** Bytes placed at file offsets. */
  blobs?: { offset: number; bytes: Uint8Array }[];
  /** Total file size (default: just past the last header table or blob). */
  size?: number;
  entry?: Int;
  type?: number;
  machine?: number;
  /** e_ident[EI_DATA] (1 little endian, 2 big endian). */
  data?: number;
  phentsize?: number;
  phnum?: number;
  /** Override e_phoff (default: right after the ELF header). */
  phoff?: Int;
}

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_NOTE = 7;
export const SHT_PROGBITS = 1;
export const EM_386 = 3;
export const EM_X86_64 = 62;

const sizes = {
  32: { ehdr: 52, phdr: 32, shdr: 40 },
  64: { ehdr: 64, phdr: 56, shdr: 64 },
} as const;

export function buildElf(spec: ElfSpec): Uint8Array {
  const { ehdr, phdr, shdr } = sizes[spec.elfClass];
  const phentsize = spec.phentsize ?? phdr;
  const phoff = BigInt(spec.phoff ?? ehdr);
  const sections = spec.sectionHeaders ?? [];
  // Section headers (with a leading null entry) follow the program header table.
  const shoff = sections.length > 0 ? ehdr + phdr * spec.programHeaders.length : 0;
  const shnum = sections.length > 0 ? sections.length + 1 : 0;
  let end = ehdr + phdr * spec.programHeaders.length + shdr * shnum;
  for (const blob of spec.blobs ?? []) end = Math.max(end, blob.offset + blob.bytes.length);
  const bytes = new Uint8Array(spec.size ?? end);
  const scratch = new Uint8Array(Math.max(end, bytes.length));
  const view = new DataView(scratch.buffer);
  const is64 = spec.elfClass === 64;
  const word = (at: number, value: Int): void => {
    if (is64) view.setBigUint64(at, BigInt(value), true);
    else view.setUint32(at, Number(value), true);
  };

  scratch.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, spec.data ?? 1, 1], 0);
  view.setUint16(16, spec.type ?? 2, true);
  view.setUint16(18, spec.machine ?? (is64 ? EM_X86_64 : EM_386), true);
  view.setUint32(20, 1, true);
  const w = is64 ? 8 : 4;
  word(24, spec.entry ?? 0x100000);
  word(24 + w, phoff);
  word(24 + 2 * w, shoff);
  const tail = 24 + 3 * w + 4;
  view.setUint16(tail, ehdr, true);
  view.setUint16(tail + 2, phentsize, true);
  view.setUint16(tail + 4, spec.phnum ?? spec.programHeaders.length, true);
  view.setUint16(tail + 6, shdr, true);
  view.setUint16(tail + 8, shnum, true);

  spec.programHeaders.forEach((header, index) => {
    const at = ehdr + index * phdr;
    view.setUint32(at, header.type, true);
    if (is64) {
      view.setUint32(at + 4, header.flags ?? 5, true);
      view.setBigUint64(at + 8, BigInt(header.offset), true);
      view.setBigUint64(at + 16, BigInt(header.vaddr ?? header.paddr), true);
      view.setBigUint64(at + 24, BigInt(header.paddr), true);
      view.setBigUint64(at + 32, BigInt(header.filesz), true);
      view.setBigUint64(at + 40, BigInt(header.memsz), true);
      view.setBigUint64(at + 48, BigInt(header.align ?? 4), true);
    } else {
      view.setUint32(at + 4, Number(header.offset), true);
      view.setUint32(at + 8, Number(header.vaddr ?? header.paddr), true);
      view.setUint32(at + 12, Number(header.paddr), true);
      view.setUint32(at + 16, Number(header.filesz), true);
      view.setUint32(at + 20, Number(header.memsz), true);
      view.setUint32(at + 24, header.flags ?? 5, true);
      view.setUint32(at + 28, Number(header.align ?? 4), true);
    }
  });

  sections.forEach((section, index) => {
    const at = shoff + (index + 1) * shdr;
    view.setUint32(at + 4, section.type, true);
    word(at + 8 + 2 * w, section.offset);
    word(at + 8 + 3 * w, section.size);
    word(at + 8 + 4 * w + 8, section.addralign ?? 4);
  });

  for (const blob of spec.blobs ?? []) scratch.set(blob.bytes, blob.offset);
  bytes.set(scratch.subarray(0, bytes.length));
  return bytes;
}

export interface NoteSpec {
  name?: string;
  type?: number;
  desc: Uint8Array;
  /** Padding of name and descriptor (4 by default). */
  align?: number;
  /** Override namesz (default: name length + NUL). */
  namesz?: number;
  /** Override descsz (default: desc length). */
  descsz?: number;
}

const pad = (n: number, align: number): number => Math.ceil(n / align) * align;

/** One ELF note: namesz, descsz, type, padded name, padded descriptor. */
export function note(spec: NoteSpec): Uint8Array {
  const align = spec.align ?? 4;
  const name = Buffer.from(`${spec.name ?? 'Xen'}\0`, 'latin1');
  const bytes = new Uint8Array(12 + pad(name.length, align) + pad(spec.desc.length, align));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, spec.namesz ?? name.length, true);
  view.setUint32(4, spec.descsz ?? spec.desc.length, true);
  view.setUint32(8, spec.type ?? 18, true);
  bytes.set(name, 12);
  bytes.set(spec.desc, 12 + pad(name.length, align));
  return bytes;
}

export function u32le(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

export function u64le(value: Int): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** Recognisable non-zero bytes. */
export function pattern(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => ((i * 7 + seed) & 0xff) || 0x5a);
}

/** Layout of the standard test image built by pvhImage(). */
export const IMAGE = {
  loadAddress: 0x100000,
  entry: 0x100010,
  codeOffset: 0x1000,
  codeSize: 0x80,
  memSize: 0x200,
  noteOffset: 0x400,
} as const;

/**
 * A valid PVH kernel: one PT_LOAD (IMAGE.codeSize file bytes, IMAGE.memSize in memory) at IMAGE.loadAddress
 * and one PT_NOTE holding the PVH note; overrides change headers to break it.
 */
export function pvhImage(
  elfClass: 32 | 64,
  overrides: { load?: Partial<ProgramHeaderSpec>; noteBytes?: Uint8Array; spec?: Partial<ElfSpec> } = {},
): Uint8Array {
  const noteBytes = overrides.noteBytes ?? note({ desc: u32le(IMAGE.entry) });
  return buildElf({
    elfClass,
    programHeaders: [
      {
        type: PT_LOAD,
        offset: IMAGE.codeOffset,
        paddr: IMAGE.loadAddress,
        filesz: IMAGE.codeSize,
        memsz: IMAGE.memSize,
        align: 0x1000,
        ...overrides.load,
      },
      { type: PT_NOTE, offset: IMAGE.noteOffset, paddr: 0, filesz: noteBytes.length, memsz: 0, align: 4 },
    ],
    blobs: [
      { offset: IMAGE.noteOffset, bytes: noteBytes },
      { offset: IMAGE.codeOffset, bytes: pattern(IMAGE.codeSize) },
    ],
    ...overrides.spec,
  });
}
