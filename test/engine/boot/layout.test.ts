import { describe, expect, it } from 'vitest';
import * as layout from '../../../engine/src/platform/layout';
import { GiB, MiB, ramRegions } from '../../../engine/src/platform/layout';

describe('platform layout', () => {
  it('keeps RAM below 3 GiB in one region', () => {
    expect(ramRegions(128 * MiB)).toEqual([{ gpa: 0, size: 128 * MiB }]);
    expect(ramRegions(3 * GiB)).toEqual([{ gpa: 0, size: 3 * GiB }]);
  });

  it('moves RAM beyond 3 GiB above 4 GiB, around the PCI hole', () => {
    expect(ramRegions(3 * GiB + 4096)).toEqual([
      { gpa: 0, size: 0xc000_0000 },
      { gpa: 0x1_0000_0000, size: 4096 },
    ]);
    expect(ramRegions(8 * GiB)).toEqual([
      { gpa: 0, size: 3 * GiB },
      { gpa: 4 * GiB, size: 5 * GiB },
    ]);
  });

  it('rejects RAM sizes that are too small, too large, not whole pages or not integers', () => {
    for (const bad of [0, MiB, 2 * MiB - 4096, 2 * MiB + 1, 1.5 * GiB + 0.5, 2048 * GiB, Number.NaN]) {
      expect(() => ramRegions(bad), String(bad)).toThrow(RangeError);
    }
    expect(ramRegions(2 * MiB)).toEqual([{ gpa: 0, size: 2 * MiB }]);
  });

  it('places the boot structures in order, without overlap, below the EBDA', () => {
    expect(layout.BOOT_GDT_START + layout.BOOT_GDT_MAX_SIZE).toBeLessThanOrEqual(layout.BOOT_IDT_START);
    expect(layout.BOOT_IDT_START + 16).toBeLessThanOrEqual(layout.PVH_START_INFO_START);
    expect(layout.PVH_START_INFO_START + 56).toBeLessThanOrEqual(layout.PVH_MEMMAP_START);
    expect(layout.PVH_MEMMAP_START + layout.PVH_MEMMAP_MAX_ENTRIES * 24).toBeLessThanOrEqual(layout.CMDLINE_START);
    expect(layout.CMDLINE_START + layout.CMDLINE_MAX_SIZE).toBeLessThanOrEqual(layout.EBDA_START);
    expect(layout.EBDA_START).toBe(0x9fc00);
    expect(layout.ACPI_TABLES_START).toBeGreaterThan(layout.EBDA_START);
    expect(layout.LEGACY_HOLE_END).toBe(layout.KERNEL_LOAD_MIN);
    expect(layout.KERNEL_LOAD_MIN).toBe(MiB);
    expect(layout.PCI_HOLE_START).toBe(3 * GiB);
    expect(layout.PCI_HOLE_END).toBe(4 * GiB);
  });
});
