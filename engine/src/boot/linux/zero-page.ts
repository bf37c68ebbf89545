/**
 * The Linux zero page (struct boot_params, Documentation/arch/x86/zero-page.rst), as the 64-bit boot protocol
 * asks a loader to fill it (boot.rst, "64-bit BOOT PROTOCOL"):
 *
 *   1. start from 4 KiB of zeros (every field a loader does not know stays 0, the sentinel at 0x1ef too);
 *   2. copy the image's setup header to 0x1f1 .. 0x202 + the byte at 0x201;
 *   3. write the loader's fields in the header: type_of_loader 0xff (no assigned id), loadflags, heap_end_ptr,
 *      cmd_line_ptr, ramdisk_image/ramdisk_size, setup_data (none);
 *   4. write the fields outside it: ext_cmd_line_ptr/ext_ramdisk_* (the high 32 bits), acpi_rsdp_addr,
 *      e820_entries and e820_table.
 * The real-mode setup code never runs in the 64-bit protocol, so it gets no heap: CAN_USE_HEAP is cleared and
 * heap_end_ptr left 0 (the decompressor brings its own heap). QUIET_FLAG and other image bits are kept.
 */
import { CAN_USE_HEAP, LOADED_HIGH, SETUP_HEADER_OFFSETS, SETUP_HEADER_START } from '../../loader/setup-header';
import { BootSetupError } from '../boot-setup-error';
import type { MemoryMapEntry } from '../memory-map';
import { E820_MAX_ENTRIES, encodeE820Table } from './e820';

/** Size of struct boot_params. */
export const ZERO_PAGE_SIZE = 0x1000;
/** type_of_loader 0xff: a boot loader without an assigned id. */
export const TYPE_OF_LOADER_UNDEFINED = 0xff;
/** Largest setup header end a zero page has room for (the EDD MBR signature buffer follows). */
const HEADER_ROOM_END = 0x290;

/** Byte offsets of the boot_params fields outside the setup header. */
export const ZERO_PAGE_OFFSETS = {
  /** u64: physical address of the ACPI RSDP (0: the kernel scans for it). */
  acpiRsdpAddr: 0x070,
  /** u32: bits 63:32 of ramdisk_image. */
  extRamdiskImage: 0x0c0,
  /** u32: bits 63:32 of ramdisk_size. */
  extRamdiskSize: 0x0c4,
  /** u32: bits 63:32 of cmd_line_ptr. */
  extCmdLinePtr: 0x0c8,
  /** u8: number of entries in e820_table. */
  e820Entries: 0x1e8,
  /** u8: must be 0; a non-zero sentinel tells the kernel a loader did not clear the page. */
  sentinel: 0x1ef,
  /** boot_e820_entry[128]. */
  e820Table: 0x2d0,
} as const;

export interface ZeroPageParams {
  /** The image's setup header bytes from 0x1f1 (LinuxKernelInfo.setupHeader). */
  setupHeader: Uint8Array;
  /** Guest physical address of the NUL-terminated command line. */
  cmdlineGpa: number;
  /** Initrd placement, when there is one. */
  initrd?: { gpa: number; size: number };
  /** The memory map for the e820 table. */
  memoryMap: readonly MemoryMapEntry[];
  /** ACPI RSDP address, when ACPI tables were written. */
  rsdpGpa?: number;
}

const TWO_POW_32 = 2 ** 32;

/** The boot_params bytes for params. */
export function encodeZeroPage(params: ZeroPageParams): Uint8Array {
  const headerEnd = SETUP_HEADER_START + params.setupHeader.length;
  if (headerEnd <= SETUP_HEADER_OFFSETS.initSize || headerEnd > HEADER_ROOM_END) {
    throw new BootSetupError('memory', `setup header of ${params.setupHeader.length} bytes does not fit the zero page`);
  }
  if (params.memoryMap.length > E820_MAX_ENTRIES) {
    throw new BootSetupError('memory', `memory map has ${params.memoryMap.length} entries; the zero page holds ${E820_MAX_ENTRIES}`);
  }
  const page = new Uint8Array(ZERO_PAGE_SIZE);
  const view = new DataView(page.buffer);
  const o = SETUP_HEADER_OFFSETS;
  page.set(params.setupHeader, SETUP_HEADER_START);

  page[o.typeOfLoader] = TYPE_OF_LOADER_UNDEFINED;
  page[o.loadflags] = (page[o.loadflags] | LOADED_HIGH) & ~CAN_USE_HEAP;
  view.setUint16(o.heapEndPtr, 0, true);
  view.setBigUint64(o.setupData, 0n, true);

  view.setUint32(o.cmdLinePtr, params.cmdlineGpa % TWO_POW_32, true);
  view.setUint32(ZERO_PAGE_OFFSETS.extCmdLinePtr, Math.floor(params.cmdlineGpa / TWO_POW_32), true);
  const initrd = params.initrd ?? { gpa: 0, size: 0 };
  view.setUint32(o.ramdiskImage, initrd.gpa % TWO_POW_32, true);
  view.setUint32(ZERO_PAGE_OFFSETS.extRamdiskImage, Math.floor(initrd.gpa / TWO_POW_32), true);
  view.setUint32(o.ramdiskSize, initrd.size % TWO_POW_32, true);
  view.setUint32(ZERO_PAGE_OFFSETS.extRamdiskSize, Math.floor(initrd.size / TWO_POW_32), true);

  view.setBigUint64(ZERO_PAGE_OFFSETS.acpiRsdpAddr, BigInt(params.rsdpGpa ?? 0), true);
  page[ZERO_PAGE_OFFSETS.e820Entries] = params.memoryMap.length;
  page.set(encodeE820Table(params.memoryMap), ZERO_PAGE_OFFSETS.e820Table);
  return page;
}
