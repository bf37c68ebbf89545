import type { Logger } from 'pino';
import { Bus } from '../bus';
import {
  AcpiPm,
  CMOS_INDEX_PORT,
  CMOS_LEN,
  CmosRtc,
  COM1_BASE,
  COM1_IRQ,
  COM1_LEN,
  DEBUG_EXIT_LEN,
  DEBUG_EXIT_PORT,
  DebugExit,
  I8042,
  I8042_COMMAND_PORT,
  I8042_DATA_PORT,
  I8042_KBD_IRQ,
  PM1A_CNT,
  PM1A_CNT_LEN,
  PM1A_EVT,
  PM1A_EVT_LEN,
  Pvpanic,
  PVPANIC_LEN,
  PVPANIC_PORT,
  SCI_IRQ,
  Serial16550a,
} from '../devices';
import type { Interrupts } from '../irq';
import { PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_IO_LEN, PciConfigIo, PciEcam, PciRoot } from '../pci';
import { PCI_ECAM_SIZE, PCI_ECAM_START } from '../platform/layout';

/** What the platform devices ask of the VM. */
export interface PlatformEvents {
  /** A transmitted serial byte. */
  serialOutput(byte: number): void;
  /** The guest's UART receive FIFO has room again. */
  serialRxDrained(): void;
  /** ACPI S5 through PM1a control. */
  powerOff(): void;
  /** A write to the debug-exit port, with QEMU's status (value << 1) | 1. */
  debugExit(status: number): void;
  /** The guest pulled the reset line (i8042 command 0xFE, also the FADT reset register): on_reboot. */
  reset(): void;
  /** The guest reported a panic through pvpanic: on_crash, CRASHED/PANICKED. */
  panic(): void;
}

export interface PlatformOptions {
  debugExit: boolean;
  logger: Logger;
  /** The accelerator's interrupt controller: every device line and PCI INTx is connected to it. */
  interrupts: Interrupts;
  /** Guest RAM below the PCI hole and from 4 GiB up, for the CMOS memory-size bytes. */
  lowMemoryBytes?: number;
  highMemoryBytes?: number;
  vcpus?: number;
}

/** The "hv microvm" devices on their buses (see DESIGN.md, the guest-visible platform). */
export interface Platform {
  pio: Bus;
  mmio: Bus;
  serial: Serial16550a;
  pm: AcpiPm;
  /** PCI bus 0 (host bridge, virtio functions), reached through 0xCF8/0xCFC and ECAM. */
  pci: PciRoot;
  i8042: I8042;
  rtc: CmosRtc;
}

export function createPlatform(events: PlatformEvents, options: PlatformOptions): Platform {
  const pio = new Bus('pio', options.logger);
  const mmio = new Bus('mmio', options.logger);
  const { interrupts } = options;
  const serial = new Serial16550a({ irq: interrupts.connect(COM1_IRQ), output: events.serialOutput, onRxDrained: events.serialRxDrained });
  const pm = new AcpiPm({ sci: interrupts.connect(SCI_IRQ), onPowerOff: events.powerOff, logger: options.logger });
  pio.insert(COM1_BASE, COM1_LEN, serial, 'com1');
  pio.insert(PM1A_EVT, PM1A_EVT_LEN, pm.eventBlock, 'pm1a-evt');
  pio.insert(PM1A_CNT, PM1A_CNT_LEN, pm.controlBlock, 'pm1a-cnt');
  const i8042 = new I8042({ onReset: events.reset, kbdIrq: interrupts.connect(I8042_KBD_IRQ), logger: options.logger });
  pio.insert(I8042_DATA_PORT, 1, i8042.dataPort, 'i8042-data');
  pio.insert(I8042_COMMAND_PORT, 1, i8042.commandPort, 'i8042-cmd');
  pio.insert(PVPANIC_PORT, PVPANIC_LEN, new Pvpanic({ onPanic: events.panic, logger: options.logger }), 'pvpanic');
  const rtc = new CmosRtc({
    lowMemoryBytes: options.lowMemoryBytes ?? 0,
    highMemoryBytes: options.highMemoryBytes,
    vcpus: options.vcpus,
    logger: options.logger,
  });
  pio.insert(CMOS_INDEX_PORT, CMOS_LEN, rtc.device, 'cmos-rtc');
  const pci = new PciRoot({ pio, mmio, logger: options.logger, intx: interrupts.connect });
  pio.insert(PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_IO_LEN, new PciConfigIo(pci, options.logger), 'pci-config-io');
  mmio.insert(PCI_ECAM_START, PCI_ECAM_SIZE, new PciEcam(pci, options.logger), 'pci-ecam');
  if (options.debugExit) pio.insert(DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, new DebugExit({ onExit: events.debugExit }), 'debug-exit');
  return { pio, mmio, serial, pm, pci, i8042, rtc };
}
