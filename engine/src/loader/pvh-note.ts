/**
 * The PVH entry note: an ELF note with name "Xen" and type XEN_ELFNOTE_PHYS32_ENTRY whose descriptor is the
 * 32-bit physical address to enter in flat protected mode (Xen's x86/HVM direct boot ABI).
 *
 * Steps: walk every PT_NOTE segment's notes; when none holds the PVH note, walk SHT_NOTE sections. A note is
 * { namesz u32, descsz u32, type u32, name padded, desc padded }, padded to the container's alignment
 * (4, or 8 when the segment/section is 8-aligned). Every length is checked against its container before use.
 */
import { elfSectionHeaders, PT_NOTE, SHT_NOTE, type ElfImage } from './parse-elf';
import { hex, LoaderError } from './loader-error';

/** Xen ELF note type carrying the PVH 32-bit entry address. */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
/** Note owner name of Xen notes. */
export const XEN_NOTE_NAME = 'Xen';
/** Size of a note header: namesz, descsz, type. */
const NOTE_HEADER_SIZE = 12;
/** PVH entry addresses are 32-bit physical addresses. */
const U32_LIMIT = 1n << 32n;

/** A region of the file holding notes. */
interface NoteContainer {
  what: string;
  offset: bigint;
  size: bigint;
  align: bigint;
}

function noteFail(message: string): never {
  throw new LoaderError('pvh-note', message);
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** The PVH entry of the first matching note in container, or undefined. */
function scanNotes(image: Uint8Array, container: NoteContainer): number | undefined {
  const end = container.offset + container.size;
  if (end > BigInt(image.length)) {
    throw new LoaderError(
      'segment',
      `${container.what}: file bytes ${hex(container.offset)}..${hex(end)} run past the end of the ${image.length}-byte image`,
    );
  }
  const align = container.align === 8n ? 8 : 4;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Number(end);
  let at = Number(container.offset);
  while (at + NOTE_HEADER_SIZE <= limit) {
    const namesz = view.getUint32(at, true);
    const descsz = view.getUint32(at + 4, true);
    const type = view.getUint32(at + 8, true);
    const nameAt = at + NOTE_HEADER_SIZE;
    const descAt = nameAt + alignUp(namesz, align);
    const next = descAt + alignUp(descsz, align);
    if (descAt + descsz > limit) {
      noteFail(`${container.what}: note at file offset ${hex(at)} (namesz ${namesz}, descsz ${descsz}) runs past its end ${hex(limit)}`);
    }
    if (type === XEN_ELFNOTE_PHYS32_ENTRY && noteName(image, nameAt, namesz) === XEN_NOTE_NAME) {
      return pvhEntryFromDescriptor(view, container.what, descAt, descsz);
    }
    at = next;
  }
  return undefined;
}

/** The note's name without its NUL terminator. */
function noteName(image: Uint8Array, at: number, namesz: number): string {
  let length = namesz;
  if (length > 0 && image[at + length - 1] === 0) length--;
  return Buffer.from(image.buffer, image.byteOffset + at, length).toString('latin1');
}

function pvhEntryFromDescriptor(view: DataView, what: string, at: number, descsz: number): number {
  let entry: bigint;
  if (descsz === 4) entry = BigInt(view.getUint32(at, true));
  else if (descsz === 8) entry = view.getBigUint64(at, true);
  else noteFail(`${what}: PVH entry note descriptor is ${descsz} bytes, expected 4 or 8`);
  if (entry >= U32_LIMIT) noteFail(`${what}: PVH entry ${hex(entry)} is not a 32-bit physical address`);
  if (entry === 0n) noteFail(`${what}: PVH entry note holds address 0`);
  return Number(entry);
}

/**
 * The PVH entry address from the image's notes. Throws LoaderError('pvh-note') when the image has none or
 * its note is malformed, LoaderError('segment') when a note container lies outside the file.
 */
export function findPvhEntry(image: Uint8Array, elf: ElfImage): number {
  for (const header of elf.programHeaders) {
    if (header.type !== PT_NOTE) continue;
    const what = `program header ${header.index} (PT_NOTE)`;
    const entry = scanNotes(image, { what, offset: header.offset, size: header.filesz, align: header.align });
    if (entry !== undefined) return entry;
  }
  for (const section of elfSectionHeaders(image, elf)) {
    if (section.type !== SHT_NOTE) continue;
    const what = `section ${section.index} (SHT_NOTE)`;
    const entry = scanNotes(image, { what, offset: section.offset, size: section.size, align: section.addralign });
    if (entry !== undefined) return entry;
  }
  return noteFail(
    `ELF image has no PVH entry note (name "${XEN_NOTE_NAME}", type ${XEN_ELFNOTE_PHYS32_ENTRY} XEN_ELFNOTE_PHYS32_ENTRY): ` +
      'only PVH-capable ELF kernels can boot',
  );
}
