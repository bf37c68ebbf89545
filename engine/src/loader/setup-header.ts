/**
 * The Linux x86 boot protocol's setup header (Documentation/arch/x86/boot.rst): the fields a 64-bit boot
 * loader reads from a bzImage, at their offsets in the image (the same offsets in the zero page).
 *
 * Steps of parseSetupHeader: the image holds the first sector; boot_flag is 0xAA55; "HdrS" is at 0x202;
 * the protocol version is at least 2.12 (the first with xloadflags and XLF_KERNEL_64); the header's length
 * (0x202 + the jump's displacement byte at 0x201) lies inside the setup sectors and the image; then every field
 * is decoded. The loader (bzimage.ts) checks what the fields mean for this guest.
 */
import { BZIMAGE_HEADER_MAGIC, BZIMAGE_HEADER_MAGIC_OFFSET } from './detect';
import { hex, LoaderError } from './loader-error';

/** Byte offsets of the setup header fields used here (in the image and in the zero page). */
export const SETUP_HEADER_OFFSETS = {
  /** u8: 512-byte sectors of real-mode setup code after the boot sector (0 means 4). */
  setupSects: 0x1f1,
  /** u32: size of the protected-mode code in 16-byte paragraphs. */
  syssize: 0x1f4,
  /** u16: video mode (0xffff = normal). */
  vidMode: 0x1fa,
  /** u16: 0xAA55. */
  bootFlag: 0x1fe,
  /** u16: a short jump over the header; its displacement byte (0x201) gives the header's length. */
  jump: 0x200,
  /** u32: "HdrS". */
  header: 0x202,
  /** u16: boot protocol version, major << 8 | minor. */
  version: 0x206,
  /** u8: boot loader identifier, written by the loader. */
  typeOfLoader: 0x210,
  /** u8: boot protocol option flags. */
  loadflags: 0x211,
  /** u32: 32-bit entry of the protected-mode kernel (informational for a 64-bit loader). */
  code32Start: 0x214,
  /** u32: initrd load address, written by the loader. */
  ramdiskImage: 0x218,
  /** u32: initrd size, written by the loader. */
  ramdiskSize: 0x21c,
  /** u16: end of the real-mode setup heap, written by the loader. */
  heapEndPtr: 0x224,
  /** u32: command line address, written by the loader. */
  cmdLinePtr: 0x228,
  /** u32: highest address the initrd may occupy. */
  initrdAddrMax: 0x22c,
  /** u32: physical alignment a relocatable kernel needs. */
  kernelAlignment: 0x230,
  /** u8: non-zero when the kernel may be loaded at any kernel_alignment-aligned address. */
  relocatableKernel: 0x234,
  /** u16: 64-bit and EFI capabilities. */
  xloadflags: 0x236,
  /** u32: longest command line, without its NUL. */
  cmdlineSize: 0x238,
  /** u64: physical address of a linked list of setup_data, written by the loader. */
  setupData: 0x250,
  /** u64: preferred load address. */
  prefAddress: 0x258,
  /** u32: bytes from the load address the kernel needs before it reads the memory map. */
  initSize: 0x260,
} as const;

/** Where the setup header starts (setup_sects). */
export const SETUP_HEADER_START = 0x1f1;
/** The header's end is this plus the byte at JUMP_DISPLACEMENT_OFFSET. */
export const SETUP_HEADER_END_BASE = 0x202;
/** The short jump's displacement byte: the length of the header after 0x202. */
export const JUMP_DISPLACEMENT_OFFSET = 0x201;
/** Room for the setup header in the zero page: the EDD MBR signature buffer follows at 0x290. */
export const SETUP_HEADER_MAX_END = 0x290;
/** boot_flag value: the classic boot sector signature. */
export const BOOT_FLAG = 0xaa55;
/** Oldest protocol accepted: 2.12 added xloadflags, which says whether the 64-bit entry exists. */
export const MIN_BOOT_PROTOCOL = 0x020c;
/** Size of one setup sector. */
export const SECTOR_SIZE = 512;
/** setup_sects = 0 means this many, for compatibility with old kernels. */
export const DEFAULT_SETUP_SECTS = 4;
/** syssize unit: a 16-byte paragraph. */
export const PARAGRAPH_SIZE = 16;

/** loadflags: the protected-mode code is loaded at 0x100000 (bzImage). */
export const LOADED_HIGH = 1 << 0;
/** loadflags: heap_end_ptr is valid (only the real-mode setup code uses the heap). */
export const CAN_USE_HEAP = 1 << 7;
/** xloadflags: the kernel has the 64-bit entry at its load address + 0x200. */
export const XLF_KERNEL_64 = 1 << 0;
/** xloadflags: the kernel, boot_params, cmdline and initrd may live above 4 GiB. */
export const XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;

/** The setup header's decoded fields, plus where the header and the protected-mode kernel are in the image. */
export interface SetupHeader {
  /** Setup sectors after the boot sector, with 0 already read as 4. */
  setupSects: number;
  /** Bytes before the protected-mode kernel: (setup_sects + 1) * 512. */
  setupSize: number;
  /** Protected-mode kernel size in bytes (syssize * 16). */
  kernelSize: number;
  version: number;
  loadflags: number;
  xloadflags: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  /** Kept as BigInt: a 64-bit field an image may fill with anything. */
  prefAddress: bigint;
  initSize: number;
  /** One past the header's last byte in the image (and the zero page). */
  headerEnd: number;
}

function fail(message: string): never {
  throw new LoaderError('setup-header', message);
}

/** "2.15" from 0x020f. */
export function protocolVersion(version: number): string {
  return `${version >> 8}.${version & 0xff}`;
}

export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (image.length < SECTOR_SIZE) fail(`truncated bzImage: ${image.length} bytes, not even the ${SECTOR_SIZE}-byte boot sector`);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const bootFlag = view.getUint16(SETUP_HEADER_OFFSETS.bootFlag, true);
  if (bootFlag !== BOOT_FLAG) fail(`boot_flag is ${hex(bootFlag)}, not ${hex(BOOT_FLAG)}`);
  const magic = view.getUint32(BZIMAGE_HEADER_MAGIC_OFFSET, true);
  if (magic !== BZIMAGE_HEADER_MAGIC) fail(`header magic at 0x202 is ${hex(magic)}, not "HdrS"`);
  const version = view.getUint16(SETUP_HEADER_OFFSETS.version, true);
  if (version < MIN_BOOT_PROTOCOL) {
    fail(`boot protocol version ${protocolVersion(version)} is older than ${protocolVersion(MIN_BOOT_PROTOCOL)}: no 64-bit entry (xloadflags)`);
  }
  const rawSects = image[SETUP_HEADER_OFFSETS.setupSects];
  const setupSects = rawSects === 0 ? DEFAULT_SETUP_SECTS : rawSects;
  const setupSize = (setupSects + 1) * SECTOR_SIZE;
  if (setupSize > image.length) {
    fail(`setup_sects ${setupSects} puts the setup code at 0..${hex(setupSize)}, past the end of the ${image.length}-byte image`);
  }
  const headerEnd = SETUP_HEADER_END_BASE + image[JUMP_DISPLACEMENT_OFFSET];
  if (headerEnd < SETUP_HEADER_OFFSETS.initSize + 4 || headerEnd > SETUP_HEADER_MAX_END) {
    fail(`setup header length: it ends at ${hex(headerEnd)} (0x202 + the jump at 0x201), outside ${hex(SETUP_HEADER_OFFSETS.initSize + 4)}..${hex(SETUP_HEADER_MAX_END)} for protocol ${protocolVersion(version)}`);
  }
  return {
    setupSects,
    setupSize,
    kernelSize: view.getUint32(SETUP_HEADER_OFFSETS.syssize, true) * PARAGRAPH_SIZE,
    version,
    loadflags: image[SETUP_HEADER_OFFSETS.loadflags],
    xloadflags: view.getUint16(SETUP_HEADER_OFFSETS.xloadflags, true),
    initrdAddrMax: view.getUint32(SETUP_HEADER_OFFSETS.initrdAddrMax, true),
    kernelAlignment: view.getUint32(SETUP_HEADER_OFFSETS.kernelAlignment, true),
    relocatable: image[SETUP_HEADER_OFFSETS.relocatableKernel] !== 0,
    cmdlineSize: view.getUint32(SETUP_HEADER_OFFSETS.cmdlineSize, true),
    prefAddress: view.getBigUint64(SETUP_HEADER_OFFSETS.prefAddress, true),
    initSize: view.getUint32(SETUP_HEADER_OFFSETS.initSize, true),
    headerEnd,
  };
}
