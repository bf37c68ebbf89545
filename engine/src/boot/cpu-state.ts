/**
 * The vCPU state a guest starts in, as plain data computed once and applied by either accelerator
 * (KVM_SET_SREGS/KVM_SET_REGS, or the emulated CPU's registers). Shapes follow kvm_sregs/kvm_regs:
 * segment limits are byte-granular (0xffffffff for a flat 4 GiB segment with g = 1), flags are 0 or 1.
 * Every segment here is the hidden state of a descriptor in the boot GDT (gdt.ts), which writeBootGdt()
 * puts in guest memory, so the GDT in memory and the loaded segment state always agree.
 *
 * PVH entry (Xen x86/HVM direct boot ABI): CR0.PE set, paging off, CR4 = 0; CS a flat 32-bit execute/read
 * segment; DS, ES, SS (and FS, GS) flat 32-bit read/write segments; TR a 32-bit TSS (base 0, limit 0x67);
 * EFLAGS = 0x2 (IF, TF, VM clear); %ebx = hvm_start_info. Everything else is 0.
 */
import { BootSetupError } from './boot-setup-error';
import {
  BOOT_CODE32_SELECTOR,
  BOOT_CODE64_SELECTOR,
  BOOT_DATA_SELECTOR,
  BOOT_GDT_LIMIT,
  BOOT_IDT_LIMIT,
  BOOT_TSS_SELECTOR,
  bootSegment,
} from './gdt';
import { BOOT_GDT_START, BOOT_IDT_START } from '../platform/layout';

/** A segment register's selector and hidden (descriptor cache) state, as kvm_segment. */
export interface Segment {
  selector: number;
  base: number;
  /** Byte-granular limit: the descriptor's 20-bit limit scaled by 4 KiB when g = 1. */
  limit: number;
  /** Descriptor type (4 bits): code/data or system type, including the accessed/busy bit. */
  type: number;
  present: 0 | 1;
  /** Descriptor privilege level. */
  dpl: number;
  /** Default operation size: 1 = 32-bit. */
  db: 0 | 1;
  /** 1 = code/data descriptor, 0 = system descriptor (TSS, LDT). */
  s: 0 | 1;
  /** 1 = 64-bit code segment. */
  l: 0 | 1;
  /** Granularity: 1 = limit in 4 KiB units in the descriptor. */
  g: 0 | 1;
}

/** GDTR or IDTR. */
export interface DescriptorTable {
  base: number;
  limit: number;
}

/** Control state, as kvm_sregs (the LDT is unused: selector 0, unusable; APIC base and CR8 left at reset). */
export interface SpecialRegisters {
  cs: Segment;
  ds: Segment;
  es: Segment;
  fs: Segment;
  gs: Segment;
  ss: Segment;
  tr: Segment;
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: number;
  cr3: number;
  cr4: number;
  efer: number;
}

/** General-purpose registers, instruction pointer and flags, as kvm_regs. */
export interface Registers {
  rax: number;
  rbx: number;
  rcx: number;
  rdx: number;
  rsi: number;
  rdi: number;
  rsp: number;
  rbp: number;
  r8: number;
  r9: number;
  r10: number;
  r11: number;
  r12: number;
  r13: number;
  r14: number;
  r15: number;
  rip: number;
  rflags: number;
}

/** Everything an accelerator's setBootState needs. */
export interface BootCpuState {
  regs: Registers;
  sregs: SpecialRegisters;
}

/** CR0.PE: protected mode. */
export const CR0_PE = 1 << 0;
/** CR0.ET: extension type, hard-wired to 1 on every CPU since the 486. */
export const CR0_ET = 1 << 4;
/** CR0.PG: paging (with EFER.LME: long mode). */
export const CR0_PG = 0x8000_0000;
/** CR4.PAE: physical address extension, required for long mode. */
export const CR4_PAE = 1 << 5;
/** EFER.LME: long mode enable. */
export const EFER_LME = 1 << 8;
/** EFER.LMA: long mode active (set by the CPU once LME and PG are both on; kvm_sregs carries it). */
export const EFER_LMA = 1 << 10;
/** RFLAGS bit 1: reserved, always 1. */
export const RFLAGS_RESERVED = 1 << 1;
/** Highest address a 32-bit entry can start at. */
const MAX_32BIT_ADDRESS = 0xffff_ffff;

/** All general-purpose registers zero, RFLAGS = 0x2. */
function zeroRegisters(): Registers {
  return {
    rax: 0, rbx: 0, rcx: 0, rdx: 0, rsi: 0, rdi: 0, rsp: 0, rbp: 0,
    r8: 0, r9: 0, r10: 0, r11: 0, r12: 0, r13: 0, r14: 0, r15: 0,
    rip: 0, rflags: RFLAGS_RESERVED,
  };
}

/** Flat 32-bit protected mode, paging off, over the boot GDT. */
function flatProtectedMode(): SpecialRegisters {
  return {
    cs: bootSegment(BOOT_CODE32_SELECTOR),
    ds: bootSegment(BOOT_DATA_SELECTOR),
    es: bootSegment(BOOT_DATA_SELECTOR),
    fs: bootSegment(BOOT_DATA_SELECTOR),
    gs: bootSegment(BOOT_DATA_SELECTOR),
    ss: bootSegment(BOOT_DATA_SELECTOR),
    tr: bootSegment(BOOT_TSS_SELECTOR),
    gdt: { base: BOOT_GDT_START, limit: BOOT_GDT_LIMIT },
    idt: { base: BOOT_IDT_START, limit: BOOT_IDT_LIMIT },
    cr0: CR0_PE | CR0_ET,
    cr3: 0,
    cr4: 0,
    efer: 0,
  };
}

function check32(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_32BIT_ADDRESS) {
    throw new BootSetupError('cpu-state', `${what} ${value} is not a 32-bit physical address`);
  }
}

/** The PVH entry state: flat 32-bit protected mode at entry with %ebx = startInfoGpa. */
export function pvhEntryState(entry: number, startInfoGpa: number): BootCpuState {
  check32('PVH entry', entry);
  check32('start_info address', startInfoGpa);
  return { regs: { ...zeroRegisters(), rip: entry, rbx: startInfoGpa }, sregs: flatProtectedMode() };
}

/**
 * The Linux 64-bit boot protocol entry state (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"): long
 * mode with paging on (CR0.PE|PG, CR4.PAE, EFER.LME|LMA) over identity page tables at pml4Gpa; CS the 64-bit
 * code segment 0x08 (boot.rst names __BOOT_CS 0x10, but that slot holds the PVH entry's 32-bit code and a
 * 64-bit CS must have L = 1; the kernel's startup_64 loads its own GDT before using a selector, as Firecracker
 * and Cloud Hypervisor rely on); DS, ES, SS (and FS, GS) the flat data segment 0x18 (__BOOT_DS); interrupts off;
 * %rsi = the zero page; rip = entry. Everything else is 0.
 */
export function linux64EntryState(entry: number, zeroPageGpa: number, pml4Gpa: number): BootCpuState {
  check32('Linux 64-bit entry', entry);
  check32('zero page address', zeroPageGpa);
  check32('PML4 address', pml4Gpa);
  if (pml4Gpa % 0x1000 !== 0) throw new BootSetupError('cpu-state', `PML4 address 0x${pml4Gpa.toString(16)} is not page aligned`);
  const flat = flatProtectedMode();
  return {
    regs: { ...zeroRegisters(), rip: entry, rsi: zeroPageGpa },
    sregs: {
      ...flat,
      cs: bootSegment(BOOT_CODE64_SELECTOR),
      // Unsigned: CR0.PG is bit 31, which a bitwise OR alone would make negative.
      cr0: (CR0_PE | CR0_ET | CR0_PG) >>> 0,
      cr3: pml4Gpa,
      cr4: CR4_PAE,
      efer: EFER_LME | EFER_LMA,
    },
  };
}

/** The raw image entry state: the same flat 32-bit protected mode, %ebx = 0 (no start_info). */
export function rawEntryState(entry: number): BootCpuState {
  check32('raw entry', entry);
  return { regs: { ...zeroRegisters(), rip: entry }, sregs: flatProtectedMode() };
}
