import { describe, expect, it } from 'vitest';
import { MemoryType } from '../../../engine/src/boot/memory-map';
import {
  encodeMemmapTable,
  encodeStartInfo,
  HVM_MEMMAP_ENTRY_SIZE,
  HVM_START_INFO_SIZE,
  MEMMAP_ENTRY_OFFSETS,
  START_INFO_OFFSETS,
  writePvhStartInfo,
} from '../../../engine/src/boot/pvh';
import { GiB, MiB, PVH_MEMMAP_START, PVH_START_INFO_START } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from '../loader/array-guest-memory';

/** Reads start_info with the offsets of Xen's start_info.h, written out here independently. */
function decodeStartInfo(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    magic: view.getUint32(0, true),
    version: view.getUint32(4, true),
    flags: view.getUint32(8, true),
    nrModules: view.getUint32(12, true),
    modlistPaddr: view.getBigUint64(16, true),
    cmdlinePaddr: view.getBigUint64(24, true),
    rsdpPaddr: view.getBigUint64(32, true),
    memmapPaddr: view.getBigUint64(40, true),
    memmapEntries: view.getUint32(48, true),
    reserved: view.getUint32(52, true),
  };
}

function decodeMemmap(bytes: Uint8Array, count: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => ({
    addr: view.getBigUint64(i * 24, true),
    size: view.getBigUint64(i * 24 + 8, true),
    type: view.getUint32(i * 24 + 16, true),
    reserved: view.getUint32(i * 24 + 20, true),
  }));
}

describe('PVH start_info', () => {
  it('pins the field offsets and sizes of start_info.h (version 1)', () => {
    expect(HVM_START_INFO_SIZE).toBe(56);
    expect(HVM_MEMMAP_ENTRY_SIZE).toBe(24);
    expect(START_INFO_OFFSETS).toEqual({
      magic: 0, version: 4, flags: 8, nrModules: 12, modlistPaddr: 16, cmdlinePaddr: 24,
      rsdpPaddr: 32, memmapPaddr: 40, memmapEntries: 48, reserved: 52,
    });
    expect(MEMMAP_ENTRY_OFFSETS).toEqual({ addr: 0, size: 8, type: 16, reserved: 20 });
  });

  it('encodes magic, version 1, no modules and the given addresses', () => {
    const bytes = encodeStartInfo({ cmdlinePaddr: 0x20000, rsdpPaddr: 0xe0000, memmapPaddr: 0x7000, memmapEntries: 4 });
    expect(bytes).toHaveLength(56);
    expect(decodeStartInfo(bytes)).toEqual({
      magic: 0x336ec578,
      version: 1,
      flags: 0,
      nrModules: 0,
      modlistPaddr: 0n,
      cmdlinePaddr: 0x20000n,
      rsdpPaddr: 0xe0000n,
      memmapPaddr: 0x7000n,
      memmapEntries: 4,
      reserved: 0,
    });
    // "xEn3" with the 0x80 bit of the "E" set, as the header describes the magic.
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x78, 0xc5, 0x6e, 0x33]);
  });

  it('encodes memory map entries with 64-bit addresses and sizes', () => {
    const bytes = encodeMemmapTable([
      { addr: 0, size: 0x9fc00, type: MemoryType.Ram },
      { addr: 0x1_0000_0000, size: 5 * GiB, type: MemoryType.Ram },
      { addr: 0x9fc00, size: 0x60400, type: MemoryType.Reserved },
    ]);
    expect(decodeMemmap(bytes, 3)).toEqual([
      { addr: 0n, size: 0x9fc00n, type: 1, reserved: 0 },
      { addr: 0x1_0000_0000n, size: 0x1_4000_0000n, type: 1, reserved: 0 },
      { addr: 0x9fc00n, size: 0x60400n, type: 2, reserved: 0 },
    ]);
  });

  it.each([
    [128 * MiB, [[0n, 0x9fc00n, 1], [0x9fc00n, 0x60400n, 2], [0x100000n, 0x7f00000n, 1]]],
    [4 * GiB, [[0n, 0x9fc00n, 1], [0x9fc00n, 0x60400n, 2], [0x100000n, 0xbff00000n, 1], [0x1_0000_0000n, 0x4000_0000n, 1]]],
  ] as const)('writes start_info and the memory map for %i bytes of RAM', (memoryBytes, expected) => {
    const memory = new ArrayGuestMemory(Math.min(memoryBytes, 4 * MiB)); // only low memory is written
    const placement = writePvhStartInfo(memory, { memoryBytes, cmdlineGpa: 0x20000 });
    expect(placement).toEqual({ startInfoGpa: 0x6000, memmapGpa: 0x7000, memmapEntries: expected.length });
    const info = decodeStartInfo(memory.read(PVH_START_INFO_START, 56));
    expect(info).toMatchObject({ magic: 0x336ec578, version: 1, cmdlinePaddr: 0x20000n, rsdpPaddr: 0n, memmapPaddr: BigInt(PVH_MEMMAP_START), memmapEntries: expected.length });
    expect(decodeMemmap(memory.read(PVH_MEMMAP_START, expected.length * 24), expected.length)).toEqual(
      expected.map(([addr, size, type]) => ({ addr, size, type, reserved: 0 })),
    );
  });
});
