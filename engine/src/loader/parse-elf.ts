/**
 * ELF header and header-table parsing for x86 kernel images (ELF32 and ELF64, little endian, ET_EXEC).
 *
 * Steps: check the identification bytes (magic, class, data encoding, version), the header (type, machine,
 * header sizes), then the program header table's bounds, then decode each entry. Addresses, offsets and sizes
 * are kept as BigInt: an ELF64 image can claim any 64-bit value and every later check must see it exactly.
 * The section header table is decoded only on request (the PVH note falls back to SHT_NOTE sections).
 */
import { isElf } from './detect';
import { hex, LoaderError } from './loader-error';

/** e_ident[EI_CLASS]: 32-bit objects. */
export const ELFCLASS32 = 1;
/** e_ident[EI_CLASS]: 64-bit objects. */
export const ELFCLASS64 = 2;
/** e_ident[EI_DATA]: two's complement little endian. */
export const ELFDATA2LSB = 1;
/** e_ident[EI_VERSION] and e_version: the only ELF version. */
export const EV_CURRENT = 1;
/** e_type: executable file. */
export const ET_EXEC = 2;
/** e_machine: Intel 80386. */
export const EM_386 = 3;
/** e_machine: AMD x86-64. */
export const EM_X86_64 = 62;
/** p_type: loadable segment. */
export const PT_LOAD = 1;
/** p_type: auxiliary information (notes). */
export const PT_NOTE = 4;
/** sh_type: notes. */
export const SHT_NOTE = 7;
/** e_phnum escape value: the real count is in section header 0 (never used by kernels; rejected). */
export const PN_XNUM = 0xffff;

/** Offset of e_ident[EI_CLASS]. */
const EI_CLASS = 4;
/** Offset of e_ident[EI_DATA]. */
const EI_DATA = 5;
/** Offset of e_ident[EI_VERSION]. */
const EI_VERSION = 6;
/** Size of e_ident. */
const EI_NIDENT = 16;

/** Sizes and field offsets that differ between ELF32 and ELF64. */
interface ElfClassLayout {
  ehdrSize: number;
  phdrSize: number;
  shdrSize: number;
  /** Reads an address/offset/size word (4 or 8 bytes) as BigInt. */
  word: (view: DataView, offset: number) => bigint;
  wordSize: number;
}

const ELF32: ElfClassLayout = {
  ehdrSize: 52,
  phdrSize: 32,
  shdrSize: 40,
  word: (view, offset) => BigInt(view.getUint32(offset, true)),
  wordSize: 4,
};

const ELF64: ElfClassLayout = {
  ehdrSize: 64,
  phdrSize: 56,
  shdrSize: 64,
  word: (view, offset) => view.getBigUint64(offset, true),
  wordSize: 8,
};

export interface ElfProgramHeader {
  /** Position in the program header table. */
  index: number;
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

export interface ElfSectionHeader {
  /** Position in the section header table. */
  index: number;
  type: number;
  offset: bigint;
  size: bigint;
  addralign: bigint;
}

export interface ElfImage {
  elfClass: 32 | 64;
  machine: number;
  /** e_entry: the native entry point (not used for PVH boot). */
  entry: bigint;
  programHeaders: ElfProgramHeader[];
  /** Section header table position, decoded by elfSectionHeaders() when needed. */
  sectionTable: { offset: bigint; entrySize: number; count: number };
}

function fail(message: string): never {
  throw new LoaderError('parse-elf', message);
}

function layoutOf(elfClass: 32 | 64): ElfClassLayout {
  return elfClass === 64 ? ELF64 : ELF32;
}

function viewOf(image: Uint8Array): DataView {
  return new DataView(image.buffer, image.byteOffset, image.byteLength);
}

/** Checks that a table of count entries of entrySize bytes at offset lies within the image. */
function checkTable(what: string, image: Uint8Array, offset: bigint, entrySize: number, count: number): void {
  const end = offset + BigInt(entrySize) * BigInt(count);
  if (end > BigInt(image.length)) {
    fail(`${what} (${count} entries of ${entrySize} bytes at ${hex(offset)}) runs past the end of the ${image.length}-byte image`);
  }
}

export function parseElf(image: Uint8Array): ElfImage {
  if (image.length < EI_NIDENT) fail(`truncated ELF identification: the image is ${image.length} bytes, it needs ${EI_NIDENT}`);
  if (!isElf(image)) fail('not an ELF image (bad magic)');
  const classByte = image[EI_CLASS];
  if (classByte !== ELFCLASS32 && classByte !== ELFCLASS64) fail(`unsupported ELF class ${classByte} (expected 1 or 2)`);
  if (image[EI_DATA] !== ELFDATA2LSB) fail(`ELF data encoding ${image[EI_DATA]} is not little endian: not an x86 image`);
  if (image[EI_VERSION] !== EV_CURRENT) fail(`unsupported ELF version ${image[EI_VERSION]}`);

  const elfClass = classByte === ELFCLASS64 ? 64 : 32;
  const layout = layoutOf(elfClass);
  if (image.length < layout.ehdrSize) {
    fail(`truncated ELF header: the image is ${image.length} bytes, an ELF${elfClass} header needs ${layout.ehdrSize}`);
  }
  const view = viewOf(image);
  // Field offsets after e_ident: e_type 16, e_machine 18, e_version 20, e_entry 24, then class-sized words.
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  const version = view.getUint32(20, true);
  if (type !== ET_EXEC) fail(`ELF type ${type} is not ET_EXEC (${ET_EXEC}): only statically linked executables load`);
  if (machine !== EM_386 && machine !== EM_X86_64) {
    fail(`ELF machine ${machine} is not x86 (EM_386 ${EM_386} or EM_X86_64 ${EM_X86_64})`);
  }
  if (version !== EV_CURRENT) fail(`unsupported ELF version ${version}`);

  const w = layout.wordSize;
  const entry = layout.word(view, 24);
  const phoff = layout.word(view, 24 + w);
  const shoff = layout.word(view, 24 + 2 * w);
  const tail = 24 + 3 * w + 4; // after e_flags
  const phentsize = view.getUint16(tail + 2, true);
  const phnum = view.getUint16(tail + 4, true);
  const shentsize = view.getUint16(tail + 6, true);
  const shnum = view.getUint16(tail + 8, true);

  if (phnum === 0) fail('ELF image has no program headers');
  if (phnum === PN_XNUM) fail('ELF image uses extended program header numbering (PN_XNUM), which kernels never need');
  if (phentsize < layout.phdrSize) {
    fail(`program header entry size ${phentsize} is smaller than an ELF${elfClass} program header (${layout.phdrSize})`);
  }
  checkTable('program header table', image, phoff, phentsize, phnum);

  const programHeaders: ElfProgramHeader[] = [];
  for (let index = 0; index < phnum; index++) {
    const at = Number(phoff) + index * phentsize;
    programHeaders.push(
      elfClass === 64
        ? {
            index,
            type: view.getUint32(at, true),
            flags: view.getUint32(at + 4, true),
            offset: view.getBigUint64(at + 8, true),
            vaddr: view.getBigUint64(at + 16, true),
            paddr: view.getBigUint64(at + 24, true),
            filesz: view.getBigUint64(at + 32, true),
            memsz: view.getBigUint64(at + 40, true),
            align: view.getBigUint64(at + 48, true),
          }
        : {
            index,
            type: view.getUint32(at, true),
            offset: BigInt(view.getUint32(at + 4, true)),
            vaddr: BigInt(view.getUint32(at + 8, true)),
            paddr: BigInt(view.getUint32(at + 12, true)),
            filesz: BigInt(view.getUint32(at + 16, true)),
            memsz: BigInt(view.getUint32(at + 20, true)),
            flags: view.getUint32(at + 24, true),
            align: BigInt(view.getUint32(at + 28, true)),
          },
    );
  }
  return { elfClass, machine, entry, programHeaders, sectionTable: { offset: shoff, entrySize: shentsize, count: shnum } };
}

/** Decodes the section header table (empty when the image has none). */
export function elfSectionHeaders(image: Uint8Array, elf: ElfImage): ElfSectionHeader[] {
  const { offset, entrySize, count } = elf.sectionTable;
  if (offset === 0n || count === 0) return [];
  const layout = layoutOf(elf.elfClass);
  if (entrySize < layout.shdrSize) {
    fail(`section header entry size ${entrySize} is smaller than an ELF${elf.elfClass} section header (${layout.shdrSize})`);
  }
  checkTable('section header table', image, offset, entrySize, count);
  const view = viewOf(image);
  const w = layout.wordSize;
  const headers: ElfSectionHeader[] = [];
  for (let index = 0; index < count; index++) {
    const at = Number(offset) + index * entrySize;
    // sh_name 0, sh_type 4, sh_flags 8, sh_addr 8+w, sh_offset 8+2w, sh_size 8+3w, sh_link, sh_info, sh_addralign.
    headers.push({
      index,
      type: view.getUint32(at + 4, true),
      offset: layout.word(view, at + 8 + 2 * w),
      size: layout.word(view, at + 8 + 3 * w),
      addralign: layout.word(view, at + 8 + 4 * w + 8),
    });
  }
  return headers;
}
