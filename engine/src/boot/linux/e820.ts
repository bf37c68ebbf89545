/**
 * The zero page's e820 table (struct boot_e820_entry, packed, 20 bytes each): the platform memory map as a
 * BIOS INT 15h E820 call would have reported it.
 *
 *    0 addr  u64
 *    8 size  u64
 *   16 type  u32 (MemoryType: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable)
 */
import { BootSetupError } from '../boot-setup-error';
import type { MemoryMapEntry } from '../memory-map';

/** Size of one boot_e820_entry. */
export const E820_ENTRY_SIZE = 20;
/** Entries the zero page's e820_table holds (E820_MAX_ENTRIES_ZEROPAGE). */
export const E820_MAX_ENTRIES = 128;

/** The e820 table bytes for entries (at most E820_MAX_ENTRIES). */
export function encodeE820Table(entries: readonly MemoryMapEntry[]): Uint8Array {
  if (entries.length > E820_MAX_ENTRIES) {
    throw new BootSetupError('memory', `memory map has ${entries.length} entries; the zero page holds ${E820_MAX_ENTRIES}`);
  }
  const bytes = new Uint8Array(entries.length * E820_ENTRY_SIZE);
  const view = new DataView(bytes.buffer);
  entries.forEach((entry, index) => {
    const at = index * E820_ENTRY_SIZE;
    view.setBigUint64(at, BigInt(entry.addr), true);
    view.setBigUint64(at + 8, BigInt(entry.size), true);
    view.setUint32(at + 16, entry.type, true);
  });
  return bytes;
}
