/**
 * Linux bzImage loader for the x86 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 * Steps:
 *   1. parse the setup header (setup-header.ts: boot flag, "HdrS", version >= 2.12, header length);
 *   2. loadflags has LOADED_HIGH (a bzImage, not a zImage) and xloadflags has XLF_KERNEL_64 (a 64-bit entry);
 *   3. the protected-mode kernel starts after the (setup_sects + 1) sectors; syssize is not zero and its
 *      syssize * 16 bytes lie in the file (the build tool rounds up to a paragraph: up to 15 bytes may be missing);
 *   4. init_size covers at least the protected-mode kernel; kernel_alignment is a power of two when relocatable;
 *   5. pick the load address: pref_address when it is at or above 1 MiB, aligned (when relocatable), and
 *      [pref_address, pref_address + init_size) lies in low RAM; otherwise, for a relocatable kernel, the lowest
 *      kernel_alignment-aligned address at or above 1 MiB where init_size fits; a non-relocatable kernel must run
 *      at pref_address or not at all;
 *   6. only then write: the protected-mode kernel copied to the load address. The setup code is not run (the
 *      64-bit protocol enters the kernel directly), so it is not loaded; the boot set-up copies the header bytes
 *      into the zero page. Entry = load address + 0x200 (startup_64).
 * A rejected image leaves guest memory untouched. Every size is checked before it is added to an address.
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { KERNEL_LOAD_MIN } from '../platform/layout';
import { checkFit } from './check-fit';
import type { LoadedKernel } from './loaded-kernel';
import { hex, LoaderError } from './loader-error';
import {
  LOADED_HIGH,
  parseSetupHeader,
  SETUP_HEADER_START,
  XLF_KERNEL_64,
  type SetupHeader,
} from './setup-header';

/** The 64-bit entry (startup_64) is this far into the protected-mode kernel. */
export const LINUX_64BIT_ENTRY_OFFSET = 0x200;
/** Largest address a 64-bit kernel's range may reach here: low RAM ends below 4 GiB anyway. */
const FOUR_GIB = 1n << 32n;

/** What the boot set-up needs from a loaded bzImage. */
export interface LinuxKernelInfo {
  /** The image's setup header bytes, 0x1f1 up to its end, to copy into the zero page at 0x1f1. */
  setupHeader: Uint8Array;
  /** The decoded header. */
  header: SetupHeader;
  /** Where the protected-mode kernel was copied. */
  loadAddress: number;
  /** Bytes copied there. */
  kernelSize: number;
  /** loadAddress + init_size: the kernel may use everything below this before it reads the memory map. */
  initEnd: number;
}

export interface LoadedBzImage extends LoadedKernel {
  format: 'bzimage';
  linux: LinuxKernelInfo;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

function alignUp(value: bigint, alignment: bigint): bigint {
  return ((value + alignment - 1n) / alignment) * alignment;
}

/** True when [address, address + size) lies in low RAM at or above the load minimum. */
function fits(address: bigint, size: bigint, memory: GuestMemoryWriter): boolean {
  return address >= BigInt(KERNEL_LOAD_MIN) && address + size <= BigInt(memory.size) && address + size <= FOUR_GIB;
}

/** Steps 2-4: header fields that make no sense for a 64-bit load. */
function checkHeader(header: SetupHeader, image: Uint8Array): void {
  if ((header.loadflags & LOADED_HIGH) === 0) {
    throw new LoaderError('setup-header', 'loadflags lacks LOADED_HIGH: a zImage loaded at 0x10000, not a bzImage');
  }
  if ((header.xloadflags & XLF_KERNEL_64) === 0) {
    throw new LoaderError('setup-header', `xloadflags ${hex(header.xloadflags)} lacks XLF_KERNEL_64: the kernel has no 64-bit entry`);
  }
  if (header.kernelSize === 0) throw new LoaderError('segment', 'syssize is 0: the image has no protected-mode kernel');
  const available = image.length - header.setupSize;
  // syssize is the file's remainder rounded up to a paragraph; more than that missing means a truncated file.
  if (header.kernelSize > available + 15) {
    throw new LoaderError(
      'segment',
      `syssize: the protected-mode kernel (${hex(header.kernelSize)} bytes at ${hex(header.setupSize)}) runs past the end of the ${image.length}-byte image (truncated?)`,
    );
  }
  if (header.initSize < Math.min(header.kernelSize, available)) {
    throw new LoaderError('setup-header', `init_size ${hex(header.initSize)} is smaller than the ${hex(header.kernelSize)}-byte kernel it must hold`);
  }
  if (header.relocatable && !isPowerOfTwo(header.kernelAlignment)) {
    throw new LoaderError('setup-header', `kernel_alignment ${hex(header.kernelAlignment)} is not a power of two`);
  }
}

/** Step 5: where the kernel goes. */
function chooseLoadAddress(header: SetupHeader, memory: GuestMemoryWriter): number {
  const initSize = BigInt(header.initSize);
  const alignment = BigInt(header.kernelAlignment);
  const pref = header.prefAddress;
  const prefAligned = !header.relocatable || pref % alignment === 0n;
  if (prefAligned && fits(pref, initSize, memory)) return Number(pref);
  if (!header.relocatable) {
    checkFit('init_size: the non-relocatable kernel at pref_address', pref, initSize, memory, KERNEL_LOAD_MIN);
    throw new LoaderError('fit', `init_size: the non-relocatable kernel cannot run at pref_address ${hex(pref)}`);
  }
  const fallback = alignUp(BigInt(KERNEL_LOAD_MIN), alignment);
  if (!fits(fallback, initSize, memory)) {
    throw new LoaderError(
      'fit',
      `init_size ${hex(initSize)} does not fit in guest RAM (${hex(memory.size)} bytes) at pref_address ${hex(pref)} nor at the aligned fallback ${hex(fallback)}`,
    );
  }
  return Number(fallback);
}

export function loadBzImage(image: Uint8Array, memory: GuestMemoryWriter): LoadedBzImage {
  const header = parseSetupHeader(image);
  checkHeader(header, image);
  const kernelSize = Math.min(header.kernelSize, image.length - header.setupSize);
  if (kernelSize <= LINUX_64BIT_ENTRY_OFFSET) {
    throw new LoaderError('entry', `the ${hex(kernelSize)}-byte protected-mode kernel ends before its 64-bit entry at +${hex(LINUX_64BIT_ENTRY_OFFSET)}`);
  }
  const loadAddress = chooseLoadAddress(header, memory);
  memory.write(loadAddress, image.subarray(header.setupSize, header.setupSize + kernelSize));
  const initEnd = loadAddress + header.initSize;
  return {
    format: 'bzimage',
    entry: loadAddress + LINUX_64BIT_ENTRY_OFFSET,
    lowestAddress: loadAddress,
    highestAddress: initEnd,
    linux: {
      setupHeader: image.slice(SETUP_HEADER_START, header.headerEnd),
      header,
      loadAddress,
      kernelSize,
      initEnd,
    },
  };
}

/** True when a loader result came from loadBzImage (and so carries what the Linux boot set-up needs). */
export function isLoadedBzImage(kernel: LoadedKernel): kernel is LoadedBzImage {
  return kernel.format === 'bzimage' && 'linux' in kernel;
}
