/**
 * MADT, "APIC" (ACPI 6.x, section 5.2.12): the interrupt controllers, as on a PC.
 * - the local APIC address and PCAT_COMPAT (dual 8259s are present: KVM's in-kernel irqchip has them);
 * - one Processor Local APIC per vCPU: processor UID = APIC ID = vCPU index, enabled;
 * - the I/O APIC at IOAPIC_START with GSI base 0 (24 pins: GSI = ISA IRQ unless overridden);
 * - interrupt source overrides as PCs have them: ISA IRQ 0 (the PIT) arrives on GSI 2, and the SCI (IRQ 9)
 *   is level-triggered active-high (ISA interrupts default to edge);
 * - a local APIC NMI on LINT1 for all processors.
 */
import { SCI_IRQ } from '../devices/ports';
import { IOAPIC_START, LAPIC_START } from '../platform/layout';
import { concatBytes } from './aml';
import { buildSdt } from './sdt-header';

/** MADT signature. */
export const MADT_SIGNATURE = 'APIC';
/** MADT revision of ACPI 6.3. */
export const MADT_REVISION = 5;
/** MADT flags bit 0: PCAT_COMPAT, the system also has dual 8259 PICs. */
export const MADT_PCAT_COMPAT = 1;
/** Entry type 0: Processor Local APIC, 8 bytes. */
export const MADT_TYPE_LOCAL_APIC = 0;
/** Entry type 1: I/O APIC, 12 bytes. */
export const MADT_TYPE_IO_APIC = 1;
/** Entry type 2: Interrupt Source Override, 10 bytes. */
export const MADT_TYPE_INTERRUPT_OVERRIDE = 2;
/** Entry type 4: Local APIC NMI, 6 bytes. */
export const MADT_TYPE_LOCAL_APIC_NMI = 4;
/** Local APIC flags bit 0: the processor is enabled. */
export const LOCAL_APIC_ENABLED = 1;
/** MPS INTI flags: active-high polarity (bits 0-1 = 01). */
const INTI_ACTIVE_HIGH = 0x1;
/** MPS INTI flags: level trigger (bits 2-3 = 11). */
const INTI_LEVEL = 0x3 << 2;
/** MPS INTI flags: conforms to the bus (ISA: edge, active high). */
const INTI_CONFORMS = 0;
/** The I/O APIC's id (the local APICs use 0..vcpus-1; QEMU uses 0 too, ids are per APIC type). */
export const IOAPIC_ID = 0;
/** The ISA IRQ of the PIT, routed to GSI 2 on PCs. */
const PIT_IRQ = 0;
/** The GSI the PIT's IRQ 0 arrives on. */
const PIT_GSI = 2;
/** Processor UID 0xff: the NMI entry applies to all processors. */
const ALL_PROCESSORS = 0xff;
/** Local APIC input the NMI is wired to (LINT1, as on PCs). */
const NMI_LINT = 1;
/** Most vCPUs an xAPIC MADT entry can name (8-bit APIC ids; 0xff is the broadcast id). */
export const MADT_MAX_VCPUS = 255;

function localApic(id: number): Uint8Array {
  const entry = new Uint8Array(8);
  const view = new DataView(entry.buffer);
  entry[0] = MADT_TYPE_LOCAL_APIC;
  entry[1] = entry.length;
  entry[2] = id; // ACPI processor UID
  entry[3] = id; // APIC id
  view.setUint32(4, LOCAL_APIC_ENABLED, true);
  return entry;
}

function ioApic(): Uint8Array {
  const entry = new Uint8Array(12);
  const view = new DataView(entry.buffer);
  entry[0] = MADT_TYPE_IO_APIC;
  entry[1] = entry.length;
  entry[2] = IOAPIC_ID;
  view.setUint32(4, IOAPIC_START, true);
  view.setUint32(8, 0, true); // GSI base
  return entry;
}

function interruptOverride(irq: number, gsi: number, flags: number): Uint8Array {
  const entry = new Uint8Array(10);
  const view = new DataView(entry.buffer);
  entry[0] = MADT_TYPE_INTERRUPT_OVERRIDE;
  entry[1] = entry.length;
  entry[2] = 0; // bus: ISA
  entry[3] = irq;
  view.setUint32(4, gsi, true);
  view.setUint16(8, flags, true);
  return entry;
}

function localApicNmi(): Uint8Array {
  return Uint8Array.of(MADT_TYPE_LOCAL_APIC_NMI, 6, ALL_PROCESSORS, INTI_CONFORMS, 0, NMI_LINT);
}

/** Builds the MADT for `vcpus` processors (1..MADT_MAX_VCPUS). */
export function buildMadt(vcpus: number): Uint8Array {
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MADT_MAX_VCPUS) throw new RangeError(`vCPU count ${vcpus} is outside 1..${MADT_MAX_VCPUS}`);
  const fixed = new Uint8Array(8);
  const view = new DataView(fixed.buffer);
  view.setUint32(0, LAPIC_START, true);
  view.setUint32(4, MADT_PCAT_COMPAT, true);
  const entries = [
    ...Array.from({ length: vcpus }, (_, id) => localApic(id)),
    ioApic(),
    interruptOverride(PIT_IRQ, PIT_GSI, INTI_CONFORMS),
    interruptOverride(SCI_IRQ, SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL),
    localApicNmi(),
  ];
  return buildSdt(MADT_SIGNATURE, MADT_REVISION, concatBytes([fixed, ...entries]));
}
