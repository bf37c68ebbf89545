export { checkFit } from './check-fit';
export { isLoadedBzImage, LINUX_64BIT_ENTRY_OFFSET, loadBzImage, type LinuxKernelInfo, type LoadedBzImage } from './bzimage';
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
export { readImageFile, type ImageSource } from './image-file';
export { MAX_INITRD_BYTES, readInitrd } from './initrd';
export { loadPvhElf, type PvhElfOptions } from './pvh-elf';
export { findPvhEntry, XEN_ELFNOTE_PHYS32_ENTRY, XEN_NOTE_NAME } from './pvh-note';
export { loadRaw, type RawImagePlacement } from './raw';
export {
  BOOT_FLAG,
  CAN_USE_HEAP,
  LOADED_HIGH,
  MIN_BOOT_PROTOCOL,
  parseSetupHeader,
  protocolVersion,
  SETUP_HEADER_OFFSETS,
  SETUP_HEADER_START,
  XLF_CAN_BE_LOADED_ABOVE_4G,
  XLF_KERNEL_64,
  type SetupHeader,
} from './setup-header';
