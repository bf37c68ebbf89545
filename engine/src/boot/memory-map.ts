/**
 * The guest's physical memory map (e820-style), derived from the platform layout: handed to PVH guests as
 * hvm_memmap_table_entry[] and later to Linux in the zero page's e820 table.
 *
 *   [0, EBDA_START)                 RAM
 *   [EBDA_START, LEGACY_HOLE_END)   reserved (EBDA, VGA, option ROMs, BIOS area, ACPI tables)
 *   [1 MiB, min(RAM, 3 GiB))        RAM
 *   [4 GiB, 4 GiB + RAM - 3 GiB)    RAM, when RAM exceeds 3 GiB (the PCI hole is simply absent)
 */
import { EBDA_START, LEGACY_HOLE_END, ramRegions, RAM_START } from '../platform/layout';
import { BootSetupError } from './boot-setup-error';

/** Address range types, shared by e820 and the PVH memory map (ACPI "System Address Map" types). */
export const MemoryType = {
  /** Usable RAM. */
  Ram: 1,
  /** Reserved: not to be used by the OS. */
  Reserved: 2,
  /** ACPI tables, reclaimable once read. */
  Acpi: 3,
  /** ACPI non-volatile storage. */
  Nvs: 4,
  /** Memory with errors. */
  Unusable: 5,
} as const;
export type MemoryType = (typeof MemoryType)[keyof typeof MemoryType];

export interface MemoryMapEntry {
  /** First guest physical address. */
  addr: number;
  /** Length in bytes. */
  size: number;
  type: MemoryType;
}

/** The memory map for a domain with memoryBytes of RAM, sorted by address. */
export function memoryMap(memoryBytes: number): MemoryMapEntry[] {
  let regions;
  try {
    regions = ramRegions(memoryBytes);
  } catch (error) {
    throw new BootSetupError('memory', (error as Error).message);
  }
  const [low, ...high] = regions;
  const entries: MemoryMapEntry[] = [
    { addr: RAM_START, size: EBDA_START - RAM_START, type: MemoryType.Ram },
    { addr: EBDA_START, size: LEGACY_HOLE_END - EBDA_START, type: MemoryType.Reserved },
  ];
  if (low.size > LEGACY_HOLE_END) {
    entries.push({ addr: LEGACY_HOLE_END, size: low.size - LEGACY_HOLE_END, type: MemoryType.Ram });
  }
  for (const region of high) entries.push({ addr: region.gpa, size: region.size, type: MemoryType.Ram });
  return entries;
}
