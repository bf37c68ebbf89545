/**
 * Boot set-up for a loaded kernel: writes the boot structures into guest memory and returns the vCPU state
 * to apply. It runs after a loader (which placed the image and reported its entry) and before the first run.
 *
 * PVH: GDT/IDT, cmdline, memory map, hvm_start_info; enter at the PVH entry with %ebx = start_info.
 * Raw: GDT/IDT only; enter at the given entry with %ebx = 0 (raw images get no boot information).
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { ramRegions } from '../platform/layout';
import { BootSetupError } from './boot-setup-error';
import { encodeCmdline, writeCmdline } from './cmdline';
import { pvhEntryState, rawEntryState, type BootCpuState } from './cpu-state';
import { writeBootGdt } from './gdt';
import { writePvhStartInfo, type PvhStartInfoPlacement } from './pvh';

export interface PvhBootParams {
  /** The PVH entry the loader found. */
  entry: number;
  /** Kernel command line. */
  cmdline: string;
  /** Total guest RAM in bytes. */
  memoryBytes: number;
  /** ACPI RSDP address, when ACPI tables were written. */
  rsdpGpa?: number;
}

export interface PvhBootSetup {
  cpu: BootCpuState;
  startInfo: PvhStartInfoPlacement;
  cmdline: { gpa: number; size: number };
}

export interface RawBootParams {
  /** The raw image's entry. */
  entry: number;
  /** Total guest RAM in bytes. */
  memoryBytes: number;
}

/** The low RAM size memoryBytes gives, checked against the memory handed in (PVH, raw and Linux set-up alike). */
export function lowRamSize(memory: GuestMemoryWriter, memoryBytes: number): number {
  let lowSize;
  try {
    lowSize = ramRegions(memoryBytes)[0].size;
  } catch (error) {
    throw new BootSetupError('memory', (error as Error).message);
  }
  if (memory.size !== lowSize) {
    throw new BootSetupError(
      'memory',
      `guest memory holds ${memory.size} bytes from address 0, but ${memoryBytes} bytes of RAM put ${lowSize} there`,
    );
  }
  return lowSize;
}

export function setupPvhBoot(memory: GuestMemoryWriter, params: PvhBootParams): PvhBootSetup {
  lowRamSize(memory, params.memoryBytes);
  // Validate every input before the first write, so a rejected boot leaves guest memory as it was.
  const cpu = pvhEntryState(params.entry, 0);
  encodeCmdline(params.cmdline);
  writeBootGdt(memory);
  const cmdline = writeCmdline(memory, params.cmdline);
  const startInfo = writePvhStartInfo(memory, {
    memoryBytes: params.memoryBytes,
    cmdlineGpa: cmdline.gpa,
    rsdpGpa: params.rsdpGpa,
  });
  cpu.regs.rbx = startInfo.startInfoGpa;
  return { cpu, startInfo, cmdline };
}

export function setupRawBoot(memory: GuestMemoryWriter, params: RawBootParams): BootCpuState {
  lowRamSize(memory, params.memoryBytes);
  const cpu = rawEntryState(params.entry);
  writeBootGdt(memory);
  return cpu;
}
