/**
 * PVH boot information (Xen's x86/HVM direct boot ABI, public/arch-x86/hvm/start_info.h), version 1:
 *
 *   hvm_start_info (56 bytes, little endian)          hvm_memmap_table_entry (24 bytes)
 *    0 magic          u32  0x336ec578                  0 addr      u64
 *    4 version        u32  1                           8 size      u64
 *    8 flags          u32  0                          16 type      u32 (MemoryType)
 *   12 nr_modules     u32  0                          20 reserved  u32 0
 *   16 modlist_paddr  u64  0
 *   24 cmdline_paddr  u64  NUL-terminated cmdline
 *   32 rsdp_paddr     u64  ACPI RSDP (0: none yet)
 *   40 memmap_paddr   u64  memory map table
 *   48 memmap_entries u32
 *   52 reserved       u32  0
 *
 * Steps: write the memory map table, then start_info pointing at it and at the cmdline (written by
 * writeCmdline). The guest receives start_info's address in %ebx (pvhEntryState).
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { PVH_MEMMAP_MAX_ENTRIES, PVH_MEMMAP_START, PVH_START_INFO_START } from '../platform/layout';
import { BootSetupError } from './boot-setup-error';
import { memoryMap, type MemoryMapEntry } from './memory-map';

/** hvm_start_info.magic: "xEn3" with the 0x80 bit of the "E" set. */
export const HVM_START_MAGIC_VALUE = 0x336e_c578;
/** hvm_start_info.version written: 1 adds the memory map fields. */
export const HVM_START_INFO_VERSION = 1;
/** Size of a version 1 hvm_start_info. */
export const HVM_START_INFO_SIZE = 56;
/** Size of one hvm_memmap_table_entry. */
export const HVM_MEMMAP_ENTRY_SIZE = 24;

/** Byte offsets of hvm_start_info's fields. */
export const START_INFO_OFFSETS = {
  magic: 0,
  version: 4,
  flags: 8,
  nrModules: 12,
  modlistPaddr: 16,
  cmdlinePaddr: 24,
  rsdpPaddr: 32,
  memmapPaddr: 40,
  memmapEntries: 48,
  reserved: 52,
} as const;

/** Byte offsets of hvm_memmap_table_entry's fields. */
export const MEMMAP_ENTRY_OFFSETS = { addr: 0, size: 8, type: 16, reserved: 20 } as const;

export interface StartInfoFields {
  /** Guest physical address of the NUL-terminated cmdline (0: none). */
  cmdlinePaddr: number;
  /** Guest physical address of the ACPI RSDP (0: none). */
  rsdpPaddr: number;
  /** Guest physical address of the memory map table. */
  memmapPaddr: number;
  /** Number of memory map entries. */
  memmapEntries: number;
}

/** hvm_start_info bytes for the given addresses (no modules, no flags). */
export function encodeStartInfo(fields: StartInfoFields): Uint8Array {
  const bytes = new Uint8Array(HVM_START_INFO_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(START_INFO_OFFSETS.magic, HVM_START_MAGIC_VALUE, true);
  view.setUint32(START_INFO_OFFSETS.version, HVM_START_INFO_VERSION, true);
  view.setBigUint64(START_INFO_OFFSETS.cmdlinePaddr, BigInt(fields.cmdlinePaddr), true);
  view.setBigUint64(START_INFO_OFFSETS.rsdpPaddr, BigInt(fields.rsdpPaddr), true);
  view.setBigUint64(START_INFO_OFFSETS.memmapPaddr, BigInt(fields.memmapPaddr), true);
  view.setUint32(START_INFO_OFFSETS.memmapEntries, fields.memmapEntries, true);
  return bytes;
}

/** hvm_memmap_table_entry array bytes. */
export function encodeMemmapTable(entries: readonly MemoryMapEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * HVM_MEMMAP_ENTRY_SIZE);
  const view = new DataView(bytes.buffer);
  entries.forEach((entry, index) => {
    const at = index * HVM_MEMMAP_ENTRY_SIZE;
    view.setBigUint64(at + MEMMAP_ENTRY_OFFSETS.addr, BigInt(entry.addr), true);
    view.setBigUint64(at + MEMMAP_ENTRY_OFFSETS.size, BigInt(entry.size), true);
    view.setUint32(at + MEMMAP_ENTRY_OFFSETS.type, entry.type, true);
  });
  return bytes;
}

export interface PvhStartInfoParams {
  /** Total guest RAM in bytes (the memory map is derived from it). */
  memoryBytes: number;
  /** Where writeCmdline put the cmdline. */
  cmdlineGpa: number;
  /** ACPI RSDP address, 0 while there are no ACPI tables. */
  rsdpGpa?: number;
}

/** Where the PVH boot information went. */
export interface PvhStartInfoPlacement {
  /** hvm_start_info address: the guest's %ebx. */
  startInfoGpa: number;
  memmapGpa: number;
  memmapEntries: number;
}

/** Writes the memory map table and hvm_start_info at their layout addresses. */
export function writePvhStartInfo(memory: GuestMemoryWriter, params: PvhStartInfoParams): PvhStartInfoPlacement {
  const entries = memoryMap(params.memoryBytes);
  if (entries.length > PVH_MEMMAP_MAX_ENTRIES) {
    throw new BootSetupError('memory', `memory map has ${entries.length} entries, more than ${PVH_MEMMAP_MAX_ENTRIES}`);
  }
  const table = encodeMemmapTable(entries);
  if (PVH_MEMMAP_START + table.length > memory.size || PVH_START_INFO_START + HVM_START_INFO_SIZE > memory.size) {
    throw new BootSetupError('memory', `guest RAM (${memory.size} bytes) is too small for the PVH start_info`);
  }
  memory.write(PVH_MEMMAP_START, table);
  memory.write(
    PVH_START_INFO_START,
    encodeStartInfo({
      cmdlinePaddr: params.cmdlineGpa,
      rsdpPaddr: params.rsdpGpa ?? 0,
      memmapPaddr: PVH_MEMMAP_START,
      memmapEntries: entries.length,
    }),
  );
  return { startInfoGpa: PVH_START_INFO_START, memmapGpa: PVH_MEMMAP_START, memmapEntries: entries.length };
}
