import type { Logger } from 'pino';
import { Bus } from '../bus';
import {
  AcpiPm,
  COM1_BASE,
  COM1_LEN,
  DEBUG_EXIT_LEN,
  DEBUG_EXIT_PORT,
  DebugExit,
  PM1A_CNT,
  PM1A_CNT_LEN,
  PM1A_EVT,
  PM1A_EVT_LEN,
  Serial16550a,
} from '../devices';
import { NullIrqLine } from '../irq';

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
}

export interface PlatformOptions {
  debugExit: boolean;
  logger: Logger;
}

/** The "hv microvm" devices on their buses (see DESIGN.md, the guest-visible platform). */
export interface Platform {
  pio: Bus;
  mmio: Bus;
  serial: Serial16550a;
  pm: AcpiPm;
}

export function createPlatform(events: PlatformEvents, options: PlatformOptions): Platform {
  const pio = new Bus('pio', options.logger);
  const mmio = new Bus('mmio', options.logger);
  // Interrupt lines stay unconnected until an accelerator can inject interrupts (emulated cannot; KVM: issue 3).
  const serial = new Serial16550a({ irq: new NullIrqLine(), output: events.serialOutput, onRxDrained: events.serialRxDrained });
  const pm = new AcpiPm({ sci: new NullIrqLine(), onPowerOff: events.powerOff, logger: options.logger });
  pio.insert(COM1_BASE, COM1_LEN, serial, 'com1');
  pio.insert(PM1A_EVT, PM1A_EVT_LEN, pm.eventBlock, 'pm1a-evt');
  pio.insert(PM1A_CNT, PM1A_CNT_LEN, pm.controlBlock, 'pm1a-cnt');
  if (options.debugExit) pio.insert(DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, new DebugExit({ onExit: events.debugExit }), 'debug-exit');
  return { pio, mmio, serial, pm };
}
