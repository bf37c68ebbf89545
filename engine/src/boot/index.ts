export { BootSetupError, type BootSetupStep } from './boot-setup-error';
export { encodeCmdline, MAX_CMDLINE_BYTES, writeCmdline } from './cmdline';
export {
  CR0_ET,
  CR0_PE,
  pvhEntryState,
  rawEntryState,
  RFLAGS_RESERVED,
  type BootCpuState,
  type DescriptorTable,
  type Registers,
  type Segment,
  type SpecialRegisters,
} from './cpu-state';
export {
  BOOT_CODE32_SELECTOR,
  BOOT_CODE64_SELECTOR,
  BOOT_DATA_SELECTOR,
  BOOT_GDT,
  BOOT_GDT_LIMIT,
  BOOT_IDT_LIMIT,
  BOOT_IDT_SIZE,
  BOOT_TSS_SELECTOR,
  bootSegment,
  DESCRIPTOR_SIZE,
  encodeBootGdt,
  encodeDescriptor,
  FLAT_LIMIT,
  SEGMENT_TYPE_CODE_EXEC_READ,
  SEGMENT_TYPE_DATA_READ_WRITE,
  SEGMENT_TYPE_TSS_BUSY,
  TSS_LIMIT,
  writeBootGdt,
  type Descriptor,
} from './gdt';
export { memoryMap, MemoryType, type MemoryMapEntry } from './memory-map';
export {
  encodeMemmapTable,
  encodeStartInfo,
  HVM_MEMMAP_ENTRY_SIZE,
  HVM_START_INFO_SIZE,
  HVM_START_INFO_VERSION,
  HVM_START_MAGIC_VALUE,
  MEMMAP_ENTRY_OFFSETS,
  START_INFO_OFFSETS,
  writePvhStartInfo,
  type PvhStartInfoParams,
  type PvhStartInfoPlacement,
  type StartInfoFields,
} from './pvh';
export { setupPvhBoot, setupRawBoot, type PvhBootParams, type PvhBootSetup, type RawBootParams } from './setup-boot';
