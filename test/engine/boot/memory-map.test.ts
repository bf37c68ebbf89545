import { describe, expect, it } from 'vitest';
import { BootSetupError } from '../../../engine/src/boot/boot-setup-error';
import { memoryMap, MemoryType } from '../../../engine/src/boot/memory-map';
import { GiB, MiB } from '../../../engine/src/platform/layout';

const RAM = MemoryType.Ram;
const RESERVED = MemoryType.Reserved;
const legacy = [
  { addr: 0, size: 0x9fc00, type: RAM },
  { addr: 0x9fc00, size: 0x60400, type: RESERVED },
];

describe('memoryMap', () => {
  it('describes a small domain: conventional memory, the reserved legacy hole, RAM from 1 MiB', () => {
    expect(memoryMap(128 * MiB)).toEqual([...legacy, { addr: 0x100000, size: 127 * MiB, type: RAM }]);
    expect(memoryMap(2 * MiB)).toEqual([...legacy, { addr: 0x100000, size: MiB, type: RAM }]);
  });

  it('ends low RAM at the PCI hole', () => {
    expect(memoryMap(3 * GiB)).toEqual([...legacy, { addr: 0x100000, size: 0xc000_0000 - 0x100000, type: RAM }]);
  });

  it('continues RAM above 4 GiB for domains larger than 3 GiB', () => {
    expect(memoryMap(4 * GiB)).toEqual([
      ...legacy,
      { addr: 0x100000, size: 0xc000_0000 - 0x100000, type: RAM },
      { addr: 0x1_0000_0000, size: GiB, type: RAM },
    ]);
  });

  it('always adds up to the domain RAM plus the reserved hole', () => {
    for (const bytes of [2 * MiB, 512 * MiB, 3 * GiB, 3 * GiB + 4096, 16 * GiB]) {
      const entries = memoryMap(bytes);
      const ram = entries.filter((entry) => entry.type === RAM).reduce((sum, entry) => sum + entry.size, 0);
      expect(ram + 0x60400).toBe(bytes);
      for (let i = 1; i < entries.length; i++) {
        expect(entries[i].addr).toBeGreaterThanOrEqual(entries[i - 1].addr + entries[i - 1].size);
      }
    }
  });

  it('rejects impossible RAM sizes as a memory set-up error', () => {
    expect(() => memoryMap(MiB)).toThrow(BootSetupError);
    expect(() => memoryMap(MiB)).toThrow(/RAM size/);
  });
});
