/**
 * DSDT (ACPI 6.x, section 5.2.11.1), revision 2 (64-bit AML integers): the devices the OS cannot probe.
 *
 *   Scope (\_SB) {
 *     Device (PCI0) { _HID PNP0A08 (PCI Express root), _CID PNP0A03 (PCI), _SEG 0, _BBN 0, _UID 0,
 *       _CRS: buses 0-255, I/O 0xCF8-0xCFF (config mechanism #1), the I/O windows around it,
 *             the 32-bit MMIO window PCI_MMIO32_START..PCI_MMIO32_END,
 *       _PRT: each slot's INTA-INTD to its GSI (the platform's swizzle, engine/src/pci/pci-intx.ts) }
 *     Device (COM1) { _HID PNP0501 (16550A), _UID 1, _CRS: I/O 0x3F8-0x3FF, IRQ 4 }
 *     Device (PS2K) { _HID PNP0303 (PS/2 keyboard on an 8042), _CRS: I/O 0x60, I/O 0x64, IRQ 1 }
 *     Device (MBRD) { _HID PNP0C02 (motherboard resources), _CRS: the ECAM window }   only with ECAM: Linux uses
 *       the MCFG's ECAM only where firmware reserves it (in the memory map or, as here, in a PNP0C02 device)
 *   }
 *   Name (\_S5, Package { 0, 0, 0, 0 })   SLP_TYP 0 for PM1a and PM1b: what the PM device powers off on (as QEMU q35)
 */
import { COM1_BASE, COM1_IRQ, COM1_LEN, I8042_COMMAND_PORT, I8042_DATA_PORT, I8042_KBD_IRQ } from '../devices/ports';
import { SLP_TYP_S5 } from '../devices/acpi-pm';
import { intxGsi, PCI_INTA, PCI_INTD } from '../pci/pci-intx';
import { PCI_MMIO32_END, PCI_MMIO32_START } from '../platform/layout';
import { amlDevice, amlEisaId, amlInteger, amlName, amlPackage, amlScope, concatBytes } from './aml';
import { dwordMemory, ioPort, irqNoFlags, memory32Fixed, resourceTemplate, RESOURCE_TYPE_BUS, RESOURCE_TYPE_IO, wordAddressSpace } from './aml-resources';
import { ECAM_BYTES_PER_BUS, type EcamRegion } from './mcfg';
import { buildSdt } from './sdt-header';

/** DSDT signature. */
export const DSDT_SIGNATURE = 'DSDT';
/** DSDT revision 2: AML integers are 64 bits wide. */
export const DSDT_REVISION = 2;
/** PCI configuration mechanism #1: CONFIG_ADDRESS at 0xCF8 and CONFIG_DATA at 0xCFC, 8 ports. */
export const PCI_CONFIG_PORT = 0xcf8;
export const PCI_CONFIG_PORT_LEN = 8;
/** Number of PCI buses the host bridge decodes (0-255, as ECAM covers). */
const PCI_BUS_COUNT = 256;
/** End of the x86 I/O port space (exclusive). */
const IO_SPACE_END = 0x1_0000;
/** First port of the upper I/O window: ports from 0x0D00 up go to PCI (below it are the legacy ISA devices). */
export const PCI_IO_WINDOW_START = 0x0d00;

/** PCI slots on bus 0 that may hold a device (0 is the host bridge). */
const PCI_DEVICE_SLOTS = 32;
/** _PRT Address for all functions of a slot: device in the high word, function 0xFFFF. */
const ALL_FUNCTIONS = 0xffff;

/**
 * _PRT (ACPI 6.x, 6.2.13): Package { Address, Pin (0 = INTA), Source 0 (a global interrupt), GSI } per slot and pin,
 * so the OS routes INTx to the IOAPIC input the platform drives instead of guessing from the interrupt line register.
 */
function pciRoutingTable(): Uint8Array {
  const entries: Uint8Array[] = [];
  for (let slot = 1; slot < PCI_DEVICE_SLOTS; slot++) {
    for (let pin = PCI_INTA; pin <= PCI_INTD; pin++) {
      const address = slot * 0x1_0000 + ALL_FUNCTIONS;
      entries.push(amlPackage([amlInteger(address), amlInteger(pin - PCI_INTA), amlInteger(0), amlInteger(intxGsi(slot, pin))]));
    }
  }
  return amlName('_PRT', amlPackage(entries));
}

function pciHostBridge(): Uint8Array {
  const crs = resourceTemplate([
    wordAddressSpace(RESOURCE_TYPE_BUS, 0, PCI_BUS_COUNT),
    ioPort(PCI_CONFIG_PORT, PCI_CONFIG_PORT_LEN),
    wordAddressSpace(RESOURCE_TYPE_IO, 0, PCI_CONFIG_PORT),
    wordAddressSpace(RESOURCE_TYPE_IO, PCI_IO_WINDOW_START, IO_SPACE_END - PCI_IO_WINDOW_START),
    dwordMemory(PCI_MMIO32_START, PCI_MMIO32_END - PCI_MMIO32_START),
  ]);
  return amlDevice('PCI0', [
    amlName('_HID', amlEisaId('PNP0A08')),
    amlName('_CID', amlEisaId('PNP0A03')),
    amlName('_SEG', amlInteger(0)),
    amlName('_BBN', amlInteger(0)),
    amlName('_UID', amlInteger(0)),
    amlName('_CRS', crs),
    pciRoutingTable(),
  ]);
}

function com1(): Uint8Array {
  return amlDevice('COM1', [
    amlName('_HID', amlEisaId('PNP0501')),
    amlName('_UID', amlInteger(1)),
    amlName('_CRS', resourceTemplate([ioPort(COM1_BASE, COM1_LEN), irqNoFlags(COM1_IRQ)])),
  ]);
}

function ps2Keyboard(): Uint8Array {
  return amlDevice('PS2K', [
    amlName('_HID', amlEisaId('PNP0303')),
    amlName('_CRS', resourceTemplate([ioPort(I8042_DATA_PORT, 1), ioPort(I8042_COMMAND_PORT, 1), irqNoFlags(I8042_KBD_IRQ)])),
  ]);
}

/** Reserves the ECAM window for buses startBus..endBus (what the MCFG describes). */
function motherboardResources(ecam: EcamRegion): Uint8Array {
  const base = ecam.base + ecam.startBus * ECAM_BYTES_PER_BUS;
  const length = (ecam.endBus - ecam.startBus + 1) * ECAM_BYTES_PER_BUS;
  return amlDevice('MBRD', [
    amlName('_HID', amlEisaId('PNP0C02')),
    amlName('_UID', amlInteger(0)),
    amlName('_CRS', resourceTemplate([memory32Fixed(base, length)])),
  ]);
}

function sleepStateS5(): Uint8Array {
  const slpTyp = amlInteger(SLP_TYP_S5);
  return amlName('\\_S5', amlPackage([slpTyp, slpTyp, amlInteger(0), amlInteger(0)]));
}

/** The DSDT's AML body (without the table header); `ecam` when the platform has one. */
export function dsdtAml(ecam?: EcamRegion): Uint8Array {
  const devices = [pciHostBridge(), com1(), ps2Keyboard()];
  if (ecam !== undefined) devices.push(motherboardResources(ecam));
  return concatBytes([amlScope('\\_SB', devices), sleepStateS5()]);
}

export function buildDsdt(ecam?: EcamRegion): Uint8Array {
  return buildSdt(DSDT_SIGNATURE, DSDT_REVISION, dsdtAml(ecam));
}
