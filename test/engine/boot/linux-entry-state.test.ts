/**
 * The Linux 64-bit entry state and the identity page tables it runs on, as plain data (what KVM_SET_SREGS /
 * KVM_SET_REGS and the emulated CPU both receive). The linux64 guest test proves the same values from inside.
 */
import { describe, expect, it } from 'vitest';
import { linux64EntryState } from '../../../engine/src/boot/cpu-state';
import { encodeBootGdt } from '../../../engine/src/boot/gdt';
import { encodeIdentityPageTables } from '../../../engine/src/boot/linux/page-tables';
import {
  BOOT_PML4_START,
  CMDLINE_START,
  GiB,
  LINUX_ZERO_PAGE_START,
  PVH_MEMMAP_MAX_ENTRIES,
  PVH_MEMMAP_START,
} from '../../../engine/src/platform/layout';

/** Walks 4-level paging with 2 MiB pages the way the MMU does, over the encoded tables. */
function translate(tables: { gpa: number; bytes: Uint8Array }[], virtual: number, cr3: number): number | undefined {
  const read = (table: number, index: number) => {
    const found = tables.find((t) => t.gpa === table);
    if (!found) throw new Error(`no paging structure at 0x${table.toString(16)}`);
    return Number(new DataView(found.bytes.buffer).getBigUint64(index * 8, true));
  };
  const pml4e = read(cr3, Math.floor(virtual / 2 ** 39) % 512);
  if ((pml4e & 1) === 0) return undefined;
  const pdpte = read(pml4e - (pml4e % 4096), Math.floor(virtual / 2 ** 30) % 512);
  if ((pdpte & 1) === 0 || (pdpte & 0x80) !== 0) return undefined;
  const pde = read(pdpte - (pdpte % 4096), Math.floor(virtual / 2 ** 21) % 512);
  if ((pde & 1) === 0 || (pde & 0x80) === 0 || (pde & 2) === 0) return undefined;
  return pde - (pde % 2 ** 21) + (virtual % 2 ** 21);
}

describe('linux64EntryState', () => {
  it('is long mode at the entry with %rsi = zero page, CS the 64-bit code segment, interrupts off', () => {
    const { regs, sregs } = linux64EntryState(0x1000200, 0x8000, 0x9000);
    expect(regs).toEqual({
      rax: 0, rbx: 0, rcx: 0, rdx: 0, rsi: 0x8000, rdi: 0, rsp: 0, rbp: 0,
      r8: 0, r9: 0, r10: 0, r11: 0, r12: 0, r13: 0, r14: 0, r15: 0,
      rip: 0x1000200, rflags: 0x2,
    });
    expect(sregs.cr0).toBe(0x8000_0011); // PG | ET | PE, unsigned
    expect(sregs.cr4).toBe(0x20); // PAE
    expect(sregs.efer).toBe(0x500); // LME | LMA
    expect(sregs.cr3).toBe(0x9000);
    expect(sregs.cs).toMatchObject({ selector: 0x08, l: 1, db: 0, type: 0xb, s: 1, present: 1, dpl: 0 });
    for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) {
      expect(sregs[name], name).toMatchObject({ selector: 0x18, base: 0, limit: 0xffff_ffff, type: 0x3, s: 1, present: 1 });
    }
    // The GDT in memory says the same: descriptor 1 is a present, long-mode (L = 1, D = 0) execute/read segment.
    const gdt = encodeBootGdt();
    expect(gdt[8 + 5]).toBe(0x9b);
    expect(gdt[8 + 6] & 0x60).toBe(0x20);
  });

  it('refuses an entry, zero page or page table root it cannot express', () => {
    expect(() => linux64EntryState(2 ** 32, 0x8000, 0x9000)).toThrow(expect.objectContaining({ step: 'cpu-state' }));
    expect(() => linux64EntryState(0x1000200, -1, 0x9000)).toThrow(expect.objectContaining({ step: 'cpu-state' }));
    expect(() => linux64EntryState(0x1000200, 0x8000, 0x9001)).toThrow(/not page aligned/);
  });
});

describe('encodeIdentityPageTables', () => {
  const tables = encodeIdentityPageTables();

  it('maps every address of the first 4 GiB to itself, writable, and nothing above', () => {
    for (const address of [0, 0x8000, 0x20000, 0x1000200, 0x3fff_fff8, GiB, 0xbfff_f000, 0xfec0_0000, 0xffff_ffff]) {
      expect(translate(tables, address, BOOT_PML4_START), `0x${address.toString(16)}`).toBe(address);
    }
    expect(translate(tables, 4 * GiB, BOOT_PML4_START)).toBeUndefined();
  });

  it('lives in the layout room below the cmdline: PML4, PDPT and four page directories, 4 KiB each', () => {
    expect(tables.map((t) => t.gpa)).toEqual([0x9000, 0xa000, 0xb000, 0xc000, 0xd000, 0xe000]);
    expect(tables.every((t) => t.bytes.length === 4096)).toBe(true);
    // After the PVH structures and the zero page, before the cmdline: nothing overlaps.
    expect(PVH_MEMMAP_START + PVH_MEMMAP_MAX_ENTRIES * 24).toBeLessThanOrEqual(LINUX_ZERO_PAGE_START);
    expect(LINUX_ZERO_PAGE_START + 4096).toBeLessThanOrEqual(BOOT_PML4_START);
    expect(tables.at(-1)!.gpa + 4096).toBeLessThanOrEqual(CMDLINE_START);
  });
});
