export { checkFit } from './check-fit';
export {
  BZIMAGE_HEADER_MAGIC,
  BZIMAGE_HEADER_MAGIC_OFFSET,
  detectKernelFormat,
  ELF_MAGIC,
  isBzImage,
  isElf,
  type DetectedFormat,
} from './detect';
export { loadKernel, loadKernelBytes, MAX_KERNEL_IMAGE_BYTES, readKernelImage, type KernelFormat } from './kernel-loader';
export type { LoadedKernel } from './loaded-kernel';
export { LoaderError, type LoaderStep } from './loader-error';
export {
  elfSectionHeaders,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  EM_386,
  EM_X86_64,
  ET_EXEC,
  EV_CURRENT,
  parseElf,
  PN_XNUM,
  PT_LOAD,
  PT_NOTE,
  SHT_NOTE,
  type ElfImage,
  type ElfProgramHeader,
  type ElfSectionHeader,
} from './parse-elf';
export { loadPvhElf, type PvhElfOptions } from './pvh-elf';
export { findPvhEntry, XEN_ELFNOTE_PHYS32_ENTRY, XEN_NOTE_NAME } from './pvh-note';
export { loadRaw, type RawImagePlacement } from './raw';
