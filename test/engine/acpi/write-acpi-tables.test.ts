import { describe, expect, it } from 'vitest';
import {
  buildAcpiTables,
  byteSum,
  FADT_OFFSETS,
  RSDP_SIZE,
  RSDP_V1_SIZE,
  writeAcpiTables,
  type AcpiTablesLayout,
} from '../../../engine/src/acpi';
import { I8042_COMMAND_PORT, PM1A_CNT, PM1A_EVT, SCI_IRQ } from '../../../engine/src/devices';
import { ACPI_TABLES_START, LEGACY_HOLE_END, MiB, PCI_ECAM_START } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from '../loader/array-guest-memory';

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const ascii = (bytes: Uint8Array, at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));
const table = (layout: AcpiTablesLayout, signature: string) => layout.tables.find((t) => t.signature === signature);

/** Follows RSDP → XSDT → tables in guest memory, the way an OS does, checking every checksum on the way. */
function walk(memory: Uint8Array, rsdpGpa: number): Map<string, { gpa: number; bytes: Uint8Array }> {
  const rsdp = memory.subarray(rsdpGpa, rsdpGpa + RSDP_SIZE);
  expect(ascii(rsdp, 0, 8)).toBe('RSD PTR ');
  expect(byteSum(rsdp, 0, RSDP_V1_SIZE)).toBe(0);
  expect(byteSum(rsdp, 0, view(rsdp).getUint32(20, true))).toBe(0);
  const found = new Map<string, { gpa: number; bytes: Uint8Array }>();
  const read = (gpa: number) => {
    const length = view(memory).getUint32(gpa + 4, true);
    const bytes = memory.subarray(gpa, gpa + length);
    expect(byteSum(bytes), `checksum of ${ascii(bytes, 0, 4)}`).toBe(0);
    found.set(ascii(bytes, 0, 4), { gpa, bytes });
    return bytes;
  };
  const xsdt = read(Number(view(rsdp).getBigUint64(24, true)));
  for (let at = 36; at < xsdt.length; at += 8) read(Number(view(xsdt).getBigUint64(at, true)));
  const fadt = found.get('FACP')!.bytes;
  const dsdt = view(fadt).getUint32(FADT_OFFSETS.dsdt, true);
  expect(Number(view(fadt).getBigUint64(FADT_OFFSETS.xDsdt, true))).toBe(dsdt);
  read(dsdt);
  return found;
}

describe('writeAcpiTables', () => {
  it('places the RSDP at ACPI_TABLES_START and every table reachable from it with a valid checksum', () => {
    const memory = new ArrayGuestMemory(2 * MiB);
    const { rsdpGpa } = writeAcpiTables(memory, { vcpus: 2 });
    expect(rsdpGpa).toBe(ACPI_TABLES_START);
    expect(rsdpGpa % 16).toBe(0);
    const tables = walk(memory.bytes, rsdpGpa);
    expect([...tables.keys()].sort()).toEqual(['APIC', 'DSDT', 'FACP', 'XSDT']);
    for (const { gpa, bytes } of tables.values()) expect(gpa + bytes.length).toBeLessThanOrEqual(LEGACY_HOLE_END);
  });

  it('adds an MCFG with the ECAM base and buses 0-255 only when the platform has ECAM', () => {
    const memory = new ArrayGuestMemory(2 * MiB);
    const { rsdpGpa } = writeAcpiTables(memory, { vcpus: 1, ecam: {} });
    const mcfg = walk(memory.bytes, rsdpGpa).get('MCFG')!.bytes;
    expect(Number(view(mcfg).getBigUint64(44, true))).toBe(PCI_ECAM_START);
    expect(view(mcfg).getUint16(52, true)).toBe(0);
    expect([mcfg[54], mcfg[55]]).toEqual([0, 255]);
    // The DSDT reserves the ECAM window (a PNP0C02 device) only when there is one.
    const dsdtHas = (layout: AcpiTablesLayout) => Buffer.from(table(layout, 'DSDT')!.bytes).includes('MBRD');
    expect(dsdtHas(buildAcpiTables({ vcpus: 1, ecam: {} }))).toBe(true);
    expect(dsdtHas(buildAcpiTables({ vcpus: 1 }))).toBe(false);
    expect(table(buildAcpiTables({ vcpus: 1 }), 'MCFG')).toBeUndefined();
    expect(() => buildAcpiTables({ vcpus: 1, ecam: { startBus: 3, endBus: 2 } })).toThrow(RangeError);
  });

  it('writes the FADT fields the platform devices answer to', () => {
    const fadt = table(buildAcpiTables({ vcpus: 1 }), 'FACP')!.bytes;
    const v = view(fadt);
    expect(fadt[8]).toBe(6);
    expect(v.getUint16(FADT_OFFSETS.sciInt, true)).toBe(SCI_IRQ);
    expect(v.getUint32(FADT_OFFSETS.smiCmd, true)).toBe(0);
    expect(v.getUint32(FADT_OFFSETS.pm1aEvtBlk, true)).toBe(PM1A_EVT);
    expect(v.getUint32(FADT_OFFSETS.pm1aCntBlk, true)).toBe(PM1A_CNT);
    expect(Number(v.getBigUint64(FADT_OFFSETS.xPm1aEvtBlk + 4, true))).toBe(PM1A_EVT);
    expect(Number(v.getBigUint64(FADT_OFFSETS.xPm1aCntBlk + 4, true))).toBe(PM1A_CNT);
    // Not hardware-reduced (bit 20), reset register supported (bit 10): i8042 port 0x64, value 0xFE.
    expect(v.getUint32(FADT_OFFSETS.flags, true) & (1 << 20)).toBe(0);
    expect(v.getUint32(FADT_OFFSETS.flags, true) & (1 << 10)).not.toBe(0);
    expect(Number(v.getBigUint64(FADT_OFFSETS.resetReg + 4, true))).toBe(I8042_COMMAND_PORT);
    expect(fadt[FADT_OFFSETS.resetValue]).toBe(0xfe);
  });

  it('points the FADT at a 64-byte aligned FACS (version 2, no firmware waking vector)', () => {
    const memory = new ArrayGuestMemory(2 * MiB);
    const { rsdpGpa } = writeAcpiTables(memory, { vcpus: 1 });
    const fadt = walk(memory.bytes, rsdpGpa).get('FACP')!.bytes;
    const facsGpa = view(fadt).getUint32(FADT_OFFSETS.firmwareCtrl, true);
    expect(facsGpa % 64).toBe(0);
    const facs = memory.bytes.subarray(facsGpa, facsGpa + 64);
    expect(ascii(facs, 0, 4)).toBe('FACS');
    expect(view(facs).getUint32(4, true)).toBe(64);
    expect(view(facs).getUint32(12, true)).toBe(0);
    expect(facs[32]).toBe(2);
  });

  it('declares one enabled local APIC per vCPU', () => {
    for (const vcpus of [1, 4, 255]) {
      const madt = table(buildAcpiTables({ vcpus }), 'APIC')!.bytes;
      const apicIds: number[] = [];
      for (let at = 44; at < madt.length; at += madt[at + 1]) {
        expect(madt[at + 1]).toBeGreaterThan(0);
        if (madt[at] === 0) apicIds.push(madt[at + 3]);
      }
      expect(apicIds).toEqual(Array.from({ length: vcpus }, (_, i) => i));
    }
    expect(() => buildAcpiTables({ vcpus: 0 })).toThrow(RangeError);
    expect(() => buildAcpiTables({ vcpus: 256 })).toThrow(RangeError);
  });

  it('refuses guest RAM too small to hold the tables, writing nothing', () => {
    const memory = new ArrayGuestMemory(ACPI_TABLES_START + 64);
    expect(() => writeAcpiTables(memory, { vcpus: 1 })).toThrow(/too small/);
    expect(memory.writes).toBe(0);
  });
});
