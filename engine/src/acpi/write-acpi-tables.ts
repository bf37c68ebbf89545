/**
 * Builds hv's ACPI tables and writes them into guest RAM at ACPI_TABLES_START (in the legacy BIOS area that
 * the memory map reserves, where OSes also scan for the RSDP):
 *
 *   RSDP → XSDT → FADT → DSDT, FACS
 *              → MADT
 *              → MCFG (only when the platform has ECAM)
 *
 * Steps: lay the tables out bottom-up (the FACS and DSDT first, since the FADT points at them; the XSDT last,
 * since it points at all others), each 16-byte aligned (the FACS 64); check the whole set fits below LEGACY_HOLE_END; then write.
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { ACPI_TABLES_START, LEGACY_HOLE_END, PCI_ECAM_SIZE, PCI_ECAM_START } from '../platform/layout';
import { buildDsdt } from './dsdt';
import { buildFacs, FACS_ALIGN } from './facs';
import { buildFadt } from './fadt';
import { buildMadt } from './madt';
import { buildMcfg, ECAM_BYTES_PER_BUS, type EcamRegion } from './mcfg';
import { buildRsdp, RSDP_ALIGN, RSDP_SIZE } from './rsdp';
import { buildXsdt } from './xsdt';

/** Alignment of each table after the RSDP (ACPI needs none; 16 keeps dumps readable and accesses aligned). */
const TABLE_ALIGN = 16;

export interface AcpiTablesOptions {
  /** vCPUs: one MADT local APIC each. */
  vcpus: number;
  /** The ECAM region, when the platform has one: adds the MCFG. Defaults to the layout's PCI_ECAM_START, buses 0-255. */
  ecam?: Partial<EcamRegion>;
}

/** One table placed in guest memory. */
export interface AcpiTable {
  /** "RSD PTR " for the RSDP, else the 4-character signature. */
  signature: string;
  gpa: number;
  bytes: Uint8Array;
}

export interface AcpiTablesLayout {
  rsdpGpa: number;
  /** Every table, the RSDP first, in address order. */
  tables: AcpiTable[];
  /** First byte after the last table. */
  end: number;
}

const align = (value: number, to: number): number => Math.ceil(value / to) * to;

/** The ECAM region the layout reserves: PCI_ECAM_START, 1 MiB per bus, buses 0-255. */
export function defaultEcam(): EcamRegion {
  return { base: PCI_ECAM_START, segment: 0, startBus: 0, endBus: PCI_ECAM_SIZE / ECAM_BYTES_PER_BUS - 1 };
}

/** Lays the tables out from `base` (ACPI_TABLES_START by default) without touching guest memory. */
export function buildAcpiTables(options: AcpiTablesOptions, base = ACPI_TABLES_START): AcpiTablesLayout {
  if (base % RSDP_ALIGN !== 0) throw new RangeError(`ACPI tables base ${base} is not ${RSDP_ALIGN}-byte aligned`);
  const tables: AcpiTable[] = [];
  let next = align(base + RSDP_SIZE, TABLE_ALIGN);
  const place = (signature: string, bytes: Uint8Array, alignTo = TABLE_ALIGN): number => {
    const gpa = align(next, alignTo);
    tables.push({ signature, gpa, bytes });
    next = align(gpa + bytes.length, TABLE_ALIGN);
    return gpa;
  };
  const facsGpa = place('FACS', buildFacs(), FACS_ALIGN);
  const ecam = options.ecam === undefined ? undefined : { ...defaultEcam(), ...options.ecam };
  const mcfg = ecam === undefined ? undefined : buildMcfg(ecam); // validates the region before the DSDT reserves it
  const dsdtGpa = place('DSDT', buildDsdt(ecam));
  const pointed = [place('FACP', buildFadt(dsdtGpa, facsGpa)), place('APIC', buildMadt(options.vcpus))];
  if (mcfg !== undefined) pointed.push(place('MCFG', mcfg));
  const xsdtGpa = place('XSDT', buildXsdt(pointed));
  tables.unshift({ signature: 'RSD PTR ', gpa: base, bytes: buildRsdp(xsdtGpa) });
  return { rsdpGpa: base, tables, end: next };
}

/** Writes the tables at ACPI_TABLES_START; returns where the RSDP went (for PVH start_info) and the placement. */
export function writeAcpiTables(memory: GuestMemoryWriter, options: AcpiTablesOptions): AcpiTablesLayout {
  const layout = buildAcpiTables(options);
  const last = layout.tables[layout.tables.length - 1];
  const used = last.gpa + last.bytes.length;
  if (used > LEGACY_HOLE_END) throw new RangeError(`ACPI tables end at 0x${used.toString(16)}, beyond 0x${LEGACY_HOLE_END.toString(16)}`);
  if (used > memory.size) throw new RangeError(`guest RAM (${memory.size} bytes) is too small for the ACPI tables`);
  for (const table of layout.tables) memory.write(table.gpa, table.bytes);
  return layout;
}
