/**
 * PVH ELF loader: an x86 ELF executable carrying a XEN_ELFNOTE_PHYS32_ENTRY note (Linux vmlinux with
 * CONFIG_PVH, test guests, unikernels).
 *
 * Steps: parse the ELF header and program headers; find the PVH entry note; check every PT_LOAD segment
 * (file bytes inside the image, p_filesz <= p_memsz, [p_paddr, p_paddr + p_memsz) inside guest RAM above the
 * load minimum) and that the entry lies in one of them; only then write: p_filesz bytes copied to p_paddr,
 * p_memsz - p_filesz bytes zeroed. A rejected image leaves guest memory untouched.
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { KERNEL_LOAD_MIN } from '../platform/layout';
import { checkFit } from './check-fit';
import type { LoadedKernel } from './loaded-kernel';
import { hex, LoaderError } from './loader-error';
import { parseElf, PT_LOAD, type ElfProgramHeader } from './parse-elf';
import { findPvhEntry } from './pvh-note';

export interface PvhElfOptions {
  /** Lowest guest physical address a segment may occupy (default KERNEL_LOAD_MIN, 1 MiB). */
  minAddress?: number;
}

/** A checked PT_LOAD segment, in numbers that are now known to be safe integers. */
interface Segment {
  gpa: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
}

function checkSegment(image: Uint8Array, header: ElfProgramHeader, memory: GuestMemoryWriter, minAddress: number): Segment {
  const what = `program header ${header.index} (PT_LOAD)`;
  if (header.filesz > header.memsz) {
    throw new LoaderError('segment', `${what}: p_filesz ${hex(header.filesz)} exceeds p_memsz ${hex(header.memsz)}`);
  }
  const fileEnd = header.offset + header.filesz;
  if (fileEnd > BigInt(image.length)) {
    throw new LoaderError(
      'segment',
      `${what}: file bytes ${hex(header.offset)}..${hex(fileEnd)} run past the end of the ${image.length}-byte image`,
    );
  }
  checkFit(what, header.paddr, header.memsz, memory, minAddress);
  return {
    gpa: Number(header.paddr),
    fileOffset: Number(header.offset),
    fileSize: Number(header.filesz),
    memSize: Number(header.memsz),
  };
}

export function loadPvhElf(image: Uint8Array, memory: GuestMemoryWriter, options: PvhElfOptions = {}): LoadedKernel {
  const minAddress = options.minAddress ?? KERNEL_LOAD_MIN;
  const elf = parseElf(image);
  const entry = findPvhEntry(image, elf);
  const segments = elf.programHeaders
    .filter((header) => header.type === PT_LOAD && header.memsz > 0n)
    .map((header) => checkSegment(image, header, memory, minAddress));
  if (segments.length === 0) throw new LoaderError('segment', 'ELF image has no PT_LOAD segment with contents');
  if (!segments.some((segment) => entry >= segment.gpa && entry < segment.gpa + segment.memSize)) {
    throw new LoaderError('entry', `PVH entry ${hex(entry)} is outside every PT_LOAD segment`);
  }

  for (const segment of segments) {
    if (segment.fileSize > 0) {
      memory.write(segment.gpa, image.subarray(segment.fileOffset, segment.fileOffset + segment.fileSize));
    }
    if (segment.memSize > segment.fileSize) {
      memory.fill(segment.gpa + segment.fileSize, segment.memSize - segment.fileSize, 0);
    }
  }
  return {
    format: 'pvh-elf',
    entry,
    lowestAddress: segments.reduce((lowest, segment) => Math.min(lowest, segment.gpa), Number.MAX_SAFE_INTEGER),
    highestAddress: segments.reduce((highest, segment) => Math.max(highest, segment.gpa + segment.memSize), 0),
  };
}
