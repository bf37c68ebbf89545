/**
 * Guest physical memory layout of the "hv microvm" platform (x86-64).
 *
 *   0x0000_0000  RAM ........................................ low RAM (usable from 0; boot structures below 1 MiB)
 *     0x500        boot GDT (up to 16 descriptors)
 *     0x580        boot IDT (zeroed gates)
 *     0x6000       PVH hvm_start_info
 *     0x7000       PVH memory map (hvm_memmap_table_entry[])
 *     0x8000       Linux zero page (boot_params)
 *     0x9000       boot page tables: PML4, PDPT at 0xa000, 4 page directories at 0xb000..0xf000 (4 GiB identity map)
 *     0x2_0000     kernel command line (NUL-terminated, at most 4 KiB)
 *   0x9_fc00     EBDA and legacy hole up to 1 MiB ............ reserved in the memory map (QEMU, Firecracker)
 *     0xe_0000     ACPI RSDP and tables (legacy RSDP scan area)
 *   0x10_0000    kernel load minimum (1 MiB) ................... RAM again
 *     ...          a bzImage at its pref_address; its initrd page aligned at the top of low RAM (below initrd_addr_max)
 *   0xc000_0000  PCI hole (MMIO: PCI BARs, ECAM, IOAPIC, LAPIC) . up to 4 GiB, not RAM
 *   0x1_0000_0000 the rest of RAM when the domain has more than 3 GiB
 */

/** One KiB in bytes. */
export const KiB = 1024;
/** One MiB in bytes. */
export const MiB = 1024 * KiB;
/** One GiB in bytes. */
export const GiB = 1024 * MiB;
/** Guest page size: RAM sizes are multiples of it. */
export const PAGE_SIZE = 4 * KiB;

/** RAM starts at guest physical 0. */
export const RAM_START = 0;
/** Start of the PCI hole: low RAM ends here (3 GiB). */
export const PCI_HOLE_START = 0xc000_0000;
/** End of the PCI hole (4 GiB): RAM beyond PCI_HOLE_START continues here. */
export const PCI_HOLE_END = 0x1_0000_0000;
/** 32-bit PCI MMIO window for BARs, at the start of the PCI hole. */
export const PCI_MMIO32_START = 0xc000_0000;
/** End of the 32-bit BAR window (exclusive); ECAM follows. */
export const PCI_MMIO32_END = 0xe000_0000;
/** PCI Express ECAM (memory-mapped configuration): 1 MiB per bus, buses 0-255. */
export const PCI_ECAM_START = 0xe000_0000;
export const PCI_ECAM_SIZE = 0x1000_0000;
/** IOAPIC registers (as on PCs; declared in the MADT). */
export const IOAPIC_START = 0xfec0_0000;
/** Local APIC registers (as on PCs; declared in the MADT). */
export const LAPIC_START = 0xfee0_0000;
/** Smallest RAM size the platform boots with: boot structures below 1 MiB plus room for a kernel above it. */
export const MIN_RAM_BYTES = 2 * MiB;
/** Largest RAM size: keeps every guest physical address a safe JavaScript integer with margin (1 TiB). */
export const MAX_RAM_BYTES = 1024 * GiB;

/** Boot GDT, written by the boot set-up and loaded into GDTR. */
export const BOOT_GDT_START = 0x500;
/** Room for the boot GDT: 16 descriptors of 8 bytes. */
export const BOOT_GDT_MAX_SIZE = 0x80;
/** Boot IDT, right after the GDT's room: zeroed gates, so any early exception escalates to a triple fault. */
export const BOOT_IDT_START = 0x580;
/** PVH hvm_start_info, whose address the guest gets in %ebx. */
export const PVH_START_INFO_START = 0x6000;
/** PVH memory map table (hvm_memmap_table_entry array). */
export const PVH_MEMMAP_START = 0x7000;
/** Most memory map entries the table at PVH_MEMMAP_START may hold (24 bytes each, within its 4 KiB page). */
export const PVH_MEMMAP_MAX_ENTRIES = 128;
/** Linux zero page (struct boot_params, 4 KiB), whose address the 64-bit entry gets in %rsi. */
export const LINUX_ZERO_PAGE_START = 0x8000;
/** Boot page tables for long-mode entry: the PML4 (one 4 KiB page). */
export const BOOT_PML4_START = 0x9000;
/** The one page-directory-pointer table, under PML4 entry 0 (the first 512 GiB). */
export const BOOT_PDPT_START = 0xa000;
/** Page directories of 2 MiB pages, one per GiB identity-mapped, back to back. */
export const BOOT_PD_START = 0xb000;
/** GiB identity-mapped by the boot page tables (all of the 32-bit space: low RAM, the PCI hole, the APICs). */
export const BOOT_IDENTITY_MAP_GIB = 4;
/** Initrd alignment: the initrd is placed page aligned, as high as it fits (below initrd_addr_max, above the kernel). */
export const INITRD_ALIGNMENT = 0x1000;
/** Kernel command line. */
export const CMDLINE_START = 0x2_0000;
/** Largest command line in bytes, including its NUL terminator. */
export const CMDLINE_MAX_SIZE = 4096;
/** Start of the EBDA: conventional memory ends here (639 KiB), as on PCs. */
export const EBDA_START = 0x9_fc00;
/** ACPI RSDP and tables: the start of the legacy BIOS area where OSes scan for the RSDP. */
export const ACPI_TABLES_START = 0xe_0000;
/** End of the legacy hole (EBDA, VGA, option ROMs, BIOS): reserved from EBDA_START up to here. */
export const LEGACY_HOLE_END = 0x10_0000;
/** Lowest address a kernel image may be loaded at (1 MiB), above every boot structure. */
export const KERNEL_LOAD_MIN = 0x10_0000;

/** A range of guest physical addresses. */
export interface GuestRegion {
  /** First guest physical address. */
  gpa: number;
  /** Length in bytes. */
  size: number;
}

/** Throws RangeError unless memoryBytes is a page multiple within [MIN_RAM_BYTES, MAX_RAM_BYTES]. */
export function checkRamSize(memoryBytes: number): void {
  if (!Number.isSafeInteger(memoryBytes) || memoryBytes < MIN_RAM_BYTES || memoryBytes > MAX_RAM_BYTES) {
    throw new RangeError(`RAM size ${memoryBytes} is outside ${MIN_RAM_BYTES}..${MAX_RAM_BYTES} bytes`);
  }
  if (memoryBytes % PAGE_SIZE !== 0) {
    throw new RangeError(`RAM size ${memoryBytes} is not a multiple of the ${PAGE_SIZE}-byte page`);
  }
}

/** Guest RAM split around the PCI hole: one region below 3 GiB, a second from 4 GiB when there is more. */
export function ramRegions(memoryBytes: number): GuestRegion[] {
  checkRamSize(memoryBytes);
  const low = Math.min(memoryBytes, PCI_HOLE_START);
  const regions: GuestRegion[] = [{ gpa: RAM_START, size: low }];
  if (memoryBytes > low) regions.push({ gpa: PCI_HOLE_END, size: memoryBytes - low });
  return regions;
}
