/**
 * Identity page tables for a long-mode entry (the Linux 64-bit boot protocol; the same tables serve KVM and
 * the emulated CPU). Four-level paging with 2 MiB pages:
 *
 *   PML4 at BOOT_PML4_START     entry 0 → the PDPT (the first 512 GiB)
 *   PDPT at BOOT_PDPT_START     entries 0..n-1 → one page directory per GiB
 *   PDs  at BOOT_PD_START + i * 4 KiB, 512 entries of 2 MiB pages: virtual = physical for the first n GiB
 *
 * boot.rst asks for the kernel's init_size range, the zero page and the cmdline to be identity mapped; mapping
 * all of the 32-bit space covers them wherever they are in low RAM, plus the PCI hole and the APICs.
 */
import type { GuestMemoryWriter } from '../../memory/guest-memory-writer';
import { BOOT_IDENTITY_MAP_GIB, BOOT_PD_START, BOOT_PDPT_START, BOOT_PML4_START, GiB } from '../../platform/layout';

/** Page table entry: present. */
export const PTE_PRESENT = 1 << 0;
/** Page table entry: writable. */
export const PTE_WRITABLE = 1 << 1;
/** Page directory entry: maps a 2 MiB page instead of pointing at a page table. */
export const PDE_LARGE_PAGE = 1 << 7;
/** Bytes per paging structure (512 entries of 8 bytes). */
export const PAGE_TABLE_SIZE = 0x1000;
/** Entries per paging structure. */
export const PAGE_TABLE_ENTRIES = 512;
/** Bytes mapped by one page directory entry with PDE_LARGE_PAGE. */
export const LARGE_PAGE_SIZE = 2 * 1024 * 1024;

/** One paging structure to write. */
export interface PageTable {
  gpa: number;
  bytes: Uint8Array;
}

/** The paging structures identity-mapping the first `gib` GiB (default BOOT_IDENTITY_MAP_GIB). */
export function encodeIdentityPageTables(gib: number = BOOT_IDENTITY_MAP_GIB): PageTable[] {
  if (!Number.isInteger(gib) || gib < 1 || gib > PAGE_TABLE_ENTRIES) throw new RangeError(`cannot identity-map ${gib} GiB with one PDPT`);
  const entry = (table: Uint8Array, index: number, value: number) =>
    new DataView(table.buffer).setBigUint64(index * 8, BigInt(value), true);
  const pml4 = new Uint8Array(PAGE_TABLE_SIZE);
  entry(pml4, 0, BOOT_PDPT_START | PTE_PRESENT | PTE_WRITABLE);
  const pdpt = new Uint8Array(PAGE_TABLE_SIZE);
  const tables: PageTable[] = [
    { gpa: BOOT_PML4_START, bytes: pml4 },
    { gpa: BOOT_PDPT_START, bytes: pdpt },
  ];
  for (let g = 0; g < gib; g++) {
    const pdGpa = BOOT_PD_START + g * PAGE_TABLE_SIZE;
    entry(pdpt, g, pdGpa | PTE_PRESENT | PTE_WRITABLE);
    const pd = new Uint8Array(PAGE_TABLE_SIZE);
    for (let i = 0; i < PAGE_TABLE_ENTRIES; i++) {
      // Additions, not bitwise ORs: addresses from 2 GiB up do not fit a signed 32-bit operand.
      entry(pd, i, g * GiB + i * LARGE_PAGE_SIZE + (PTE_PRESENT | PTE_WRITABLE | PDE_LARGE_PAGE));
    }
    tables.push({ gpa: pdGpa, bytes: pd });
  }
  return tables;
}

/** Writes the identity page tables; returns the PML4's address (the CR3 value). */
export function writeIdentityPageTables(memory: GuestMemoryWriter, gib: number = BOOT_IDENTITY_MAP_GIB): number {
  for (const table of encodeIdentityPageTables(gib)) memory.write(table.gpa, table.bytes);
  return BOOT_PML4_START;
}
