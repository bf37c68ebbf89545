/**
 * hv's ACPI tables parsed back by an independent tool: Debian's acpica-tools `iasl -d`, one .dat file per
 * table. The DSDT is also recompiled from its disassembly (`iasl -oa`, no optimizations) and must give our
 * AML byte for byte. iasl (20200925) cannot disassemble a lone binary RSDP ("does not contain a valid ACPI
 * table"), so the RSDP is checked by write-acpi-tables.test.ts and by the test guest's `acpi` action instead.
 * Last, `acpiexec` (ACPICA, the AML interpreter Linux uses) loads the tables and evaluates the DSDT's objects.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAcpiTables, SDT_HEADER_SIZE, type AcpiTablesLayout } from '../../../engine/src/acpi';
import { disassemble, iaslUnavailable, type Disassembly } from './iasl';

const unavailable = iaslUnavailable();
if (unavailable) console.warn(`iasl disassembly tests skipped: ${unavailable}`);

const VCPUS = 3;

describe.skipIf(unavailable !== undefined)('ACPI tables under iasl -d', () => {
  let layout: AcpiTablesLayout;
  let dir: string;
  const dsl = new Map<string, Disassembly>();

  beforeAll(() => {
    layout = buildAcpiTables({ vcpus: VCPUS, ecam: {} });
    dir = mkdtempSync(join(tmpdir(), 'hv-acpi-'));
    for (const table of layout.tables) {
      if (table.signature === 'RSD PTR ') continue;
      dsl.set(table.signature, disassemble(table.bytes, table.signature.toLowerCase(), dir));
    }
  });

  it('disassembles every table without errors or warnings', () => {
    expect([...dsl.keys()].sort()).toEqual(['APIC', 'DSDT', 'FACP', 'FACS', 'MCFG', 'XSDT']);
    for (const [signature, d] of dsl) {
      expect(d.status, `${signature}: ${d.log}`).toBe(0);
      expect(d.dsl, `${signature} disassembly`).not.toMatch(/\*\*\*\* (ACPI )?(Error|Warning)|Invalid|Unknown/i);
      expect(d.log).not.toMatch(/Error|Warning/i);
    }
  });

  it('FADT: revision 6, PM1a event block 0x600 (4 bytes), control block 0x604 (2 bytes), SCI 9, reset via 0x64/0xFE', () => {
    const fadt = dsl.get('FACP')!.dsl;
    expect(fadt).toMatch(/Revision : 06/);
    expect(fadt).toMatch(/SCI Interrupt : 0009/);
    expect(fadt).toMatch(/SMI Command Port : 00000000/);
    expect(fadt).toMatch(/PM1A Event Block Address : 00000600/);
    expect(fadt).toMatch(/PM1A Control Block Address : 00000604/);
    expect(fadt).toMatch(/PM1 Event Block Length : 04/);
    expect(fadt).toMatch(/PM1 Control Block Length : 02/);
    expect(fadt).toMatch(/Hardware Reduced \(V5\) : 0/);
    expect(fadt).toMatch(/Reset Register Supported \(V2\) : 1/);
    expect(fadt).toMatch(/Value to cause reset : FE/);
    expect(fadt).toMatch(/PM1A Event Block : \[Generic Address Structure\][\s\S]*?Space ID : 01 \[SystemIO\][\s\S]*?Address : 0000000000000600/);
    expect(fadt).toMatch(/PM1A Control Block : \[Generic Address Structure\][\s\S]*?Space ID : 01 \[SystemIO\][\s\S]*?Address : 0000000000000604/);
    const dsdtGpa = layout.tables.find((t) => t.signature === 'DSDT')!.gpa;
    expect(fadt).toMatch(new RegExp(`DSDT Address : ${dsdtGpa.toString(16).toUpperCase().padStart(8, '0')}`));
    expect(fadt).toMatch(new RegExp(`DSDT Address : ${dsdtGpa.toString(16).toUpperCase().padStart(16, '0')}`));
  });

  it('MADT: one local APIC per vCPU, the IOAPIC, IRQ0→GSI2 and a level, active-high SCI', () => {
    const madt = dsl.get('APIC')!.dsl;
    expect(madt.match(/\[Processor Local APIC\]/g)).toHaveLength(VCPUS);
    expect(madt).toMatch(/Local Apic Address : FEE00000/);
    expect(madt).toMatch(/\[I\/O APIC\][\s\S]*?Address : FEC00000[\s\S]*?Interrupt : 00000000/);
    expect(madt).toMatch(/\[Interrupt Source Override\][\s\S]*?Source : 00\s*\n.*Interrupt : 00000002/);
    expect(madt).toMatch(/Source : 09\s*\n.*Interrupt : 00000009\s*\n.*Flags \(decoded below\) : 000D\s*\n\s*Polarity : 1\s*\n\s*Trigger Mode : 3/);
  });

  it('FACS: the 64-byte table the FADT points at, version 2', () => {
    const facs = dsl.get('FACS')!.dsl;
    expect(facs).toMatch(/Signature : "FACS"/);
    expect(facs).toMatch(/Length : 00000040/);
    expect(facs).toMatch(/Version : 02/);
    const facsGpa = layout.tables.find((t) => t.signature === 'FACS')!.gpa;
    expect(dsl.get('FACP')!.dsl).toMatch(new RegExp(`FACS Address : ${facsGpa.toString(16).toUpperCase().padStart(8, '0')}`));
  });

  it('MCFG: ECAM at 0xE0000000, segment 0, buses 0-255', () => {
    const mcfg = dsl.get('MCFG')!.dsl;
    expect(mcfg).toMatch(/Base Address : 00000000E0000000/);
    expect(mcfg).toMatch(/Segment Group Number : 0000/);
    expect(mcfg).toMatch(/Start Bus Number : 00/);
    expect(mcfg).toMatch(/End Bus Number : FF/);
  });

  it('XSDT: points at the FADT, MADT and MCFG', () => {
    const xsdt = dsl.get('XSDT')!.dsl;
    for (const signature of ['FACP', 'APIC', 'MCFG']) {
      const gpa = layout.tables.find((t) => t.signature === signature)!.gpa;
      expect(xsdt).toMatch(new RegExp(`ACPI Table Address +\\d+ : ${gpa.toString(16).toUpperCase().padStart(16, '0')}`));
    }
  });

  it('DSDT: \\_S5 = {0, 0, 0, 0}, COM1 at 0x3F8/IRQ 4, the PCI host bridge and its windows', () => {
    // Comments dropped and whitespace folded, so resources read as one line each: "IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, )".
    const dsdt = dsl.get('DSDT')!.dsl.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ');
    expect(dsdt).toContain('Name (\\_S5, Package (0x04) { Zero, Zero, Zero, Zero })');
    expect(dsdt).toMatch(/Device \(COM1\) \{ Name \(_HID, EisaId \("PNP0501"\) \) .*?IO \(Decode16, 0x03F8, 0x03F8, 0x01, 0x08, \) IRQNoFlags \(\) \{4\}/);
    expect(dsdt).toMatch(/Device \(PCI0\) \{ Name \(_HID, EisaId \("PNP0A08"\) \) Name \(_CID, EisaId \("PNP0A03"\) \) Name \(_SEG, Zero\) Name \(_BBN, Zero\)/);
    expect(dsdt).toContain('WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,');
    expect(dsdt).toContain('IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08, )');
    expect(dsdt).toContain('WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8,');
    expect(dsdt).toContain('WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,');
    expect(dsdt).toContain('DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000,');
    // The ECAM window reserved as a motherboard resource, so Linux trusts the MCFG.
    expect(dsdt).toMatch(/Device \(MBRD\) \{ Name \(_HID, EisaId \("PNP0C02"\) \) .*?Memory32Fixed \(ReadWrite, 0xE0000000, 0x10000000, \)/);
  });

  it('DSDT: recompiling the disassembly gives our AML byte for byte', () => {
    const compile = spawnSync('iasl', ['-oa', '-p', 'recompiled', 'dsdt.dsl'], { cwd: dir, encoding: 'utf8' });
    expect(compile.status, compile.stdout + compile.stderr).toBe(0);
    const recompiled = readFileSync(join(dir, 'recompiled.aml'));
    const ours = layout.tables.find((t) => t.signature === 'DSDT')!.bytes;
    expect([...recompiled.subarray(SDT_HEADER_SIZE)]).toEqual([...ours.subarray(SDT_HEADER_SIZE)]);
  });

  it('acpiexec (ACPICA) loads the tables without warnings and evaluates \\_S5 and the _CRS objects', () => {
    const files = ['dsdt', 'facp', 'facs', 'apic', 'mcfg'].map((name) => `${name}.dat`);
    const commands = 'evaluate \\_S5; evaluate \\_SB.COM1._CRS; evaluate \\_SB.PCI0._HID; evaluate \\_SB.PCI0._PRT';
    const run = spawnSync('acpiexec', ['-b', commands, ...files], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    const out = `${run.stdout}${run.stderr}`;
    expect(out, out).toContain('1 ACPI AML tables successfully acquired and loaded');
    expect(out).not.toMatch(/ACPI (Error|Warning|Exception)/);
    expect(out).toMatch(/Evaluating \\_S5\s*\n.*\n\s*\[Package\] Contains 4 Elements:(\s*\[Integer\] = 0{16}){4}/);
    // IO(0x3F8, 0x3F8, 1, 8), IRQNoFlags {4}, End Tag.
    expect(out).toContain('47 01 F8 03 F8 03 01 08 22 10 00 79 00');
    expect(out).toMatch(/Evaluating \\_SB.PCI0._HID\s*\n.*\n\s*\[Integer\] = 00000000080AD041/);
    // _PRT: 31 slots x 4 pins; slot 1 INTA on GSI 17 and slot 4 INTA on GSI 16, as the PCI root routes them.
    expect(out).toMatch(/Evaluating \\_SB.PCI0._PRT\s*\n.*\n\s*\[Package\] Contains 124 Elements:/);
    const entry = (address: number, pin: number, gsi: number) =>
      new RegExp(['Contains 4 Elements:', ...[address, pin, 0, gsi].map((v) => `\\[Integer\\] = ${v.toString(16).toUpperCase().padStart(16, '0')}`)].join('\\s*'));
    expect(out).toMatch(entry(0x1ffff, 0, 17));
    expect(out).toMatch(entry(0x4ffff, 0, 16));
    expect(out).toMatch(entry(0x1ffff, 3, 16));
  });
});
