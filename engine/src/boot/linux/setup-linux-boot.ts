/**
 * Boot set-up for a bzImage through the Linux 64-bit boot protocol, after loadBzImage placed the kernel.
 *
 * Steps (every input checked before the first write, so a rejected boot leaves guest memory as it was):
 *   1. the CPU state: long mode at the 64-bit entry, %rsi = the zero page, CR3 = the identity page tables;
 *   2. the cmdline fits both our area and the kernel's cmdline_size;
 *   3. the initrd, if any, is placed (initrd-placement.ts) and the memory map computed;
 *   4. write the GDT/IDT, the page tables, the cmdline, the initrd, then the zero page that points at them.
 */
import type { LinuxKernelInfo } from '../../loader/bzimage';
import type { GuestMemoryWriter } from '../../memory/guest-memory-writer';
import { BOOT_PML4_START, LINUX_ZERO_PAGE_START } from '../../platform/layout';
import { BootSetupError } from '../boot-setup-error';
import { encodeCmdline, writeCmdline } from '../cmdline';
import { linux64EntryState, type BootCpuState } from '../cpu-state';
import { writeBootGdt } from '../gdt';
import { memoryMap } from '../memory-map';
import { lowRamSize } from '../setup-boot';
import { placeInitrd } from './initrd-placement';
import { writeIdentityPageTables } from './page-tables';
import { encodeZeroPage } from './zero-page';

export interface LinuxBootParams {
  /** The 64-bit entry loadBzImage reported (load address + 0x200). */
  entry: number;
  /** What loadBzImage reported about the kernel. */
  kernel: LinuxKernelInfo;
  /** Kernel command line. */
  cmdline: string;
  /** Total guest RAM in bytes. */
  memoryBytes: number;
  /** Initial ramdisk bytes, if any. */
  initrd?: Uint8Array;
  /** ACPI RSDP address, when ACPI tables were written (0 or absent: the kernel scans for it). */
  rsdpGpa?: number;
}

export interface LinuxBootSetup {
  cpu: BootCpuState;
  /** struct boot_params address: the guest's %rsi. */
  zeroPageGpa: number;
  cmdline: { gpa: number; size: number };
  initrd?: { gpa: number; size: number };
  /** Entries in the zero page's e820 table. */
  e820Entries: number;
}

export function setupLinuxBoot(memory: GuestMemoryWriter, params: LinuxBootParams): LinuxBootSetup {
  const lowEnd = lowRamSize(memory, params.memoryBytes);
  const cpu = linux64EntryState(params.entry, LINUX_ZERO_PAGE_START, BOOT_PML4_START);
  const cmdlineBytes = encodeCmdline(params.cmdline);
  const { header } = params.kernel;
  if (cmdlineBytes.length - 1 > header.cmdlineSize) {
    throw new BootSetupError('cmdline', `kernel cmdline is ${cmdlineBytes.length - 1} bytes; this kernel's cmdline_size allows ${header.cmdlineSize}`);
  }
  const initrd = params.initrd
    ? {
        gpa: placeInitrd(params.initrd.length, { initEnd: params.kernel.initEnd, initrdAddrMax: header.initrdAddrMax, lowRamEnd: lowEnd }),
        size: params.initrd.length,
      }
    : undefined;
  const entries = memoryMap(params.memoryBytes);

  writeBootGdt(memory);
  writeIdentityPageTables(memory);
  const cmdline = writeCmdline(memory, params.cmdline);
  if (initrd && params.initrd) memory.write(initrd.gpa, params.initrd);
  const zeroPage = encodeZeroPage({
    setupHeader: params.kernel.setupHeader,
    cmdlineGpa: cmdline.gpa,
    initrd,
    memoryMap: entries,
    rsdpGpa: params.rsdpGpa,
  });
  memory.write(LINUX_ZERO_PAGE_START, zeroPage);
  return { cpu, zeroPageGpa: LINUX_ZERO_PAGE_START, cmdline, initrd, e820Entries: entries.length };
}
