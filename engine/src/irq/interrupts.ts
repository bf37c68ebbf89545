import { CountingMsiSink, type MsiSink } from '../pci/msi-sink';
import type { WarnLogger } from '../bus';
import { CountingIrqLine } from './counting-irq-line';
import type { IrqLine } from './irq-line';
import { SharedIrqLine } from './shared-irq-line';

/**
 * How device interrupts reach the guest: the accelerator's interrupt controller. Legacy lines by GSI (ISA 0-15,
 * PCI INTx 16-23) and MSI messages. KVM delivers both in the kernel; the emulated CPU cannot take interrupts, so
 * its guests poll and these only count.
 */
export interface Interrupts {
  /** A device's output onto the line of `gsi`; several outputs on one GSI are wired-OR (shared PCI INTx). */
  connect(gsi: number): IrqLine;
  readonly msi: MsiSink;
  /** Releases what the controller holds (eventfds); safe to call twice. */
  close(): void;
}

/** Builds connect() over one input per GSI made by `input`, shared by every device on that GSI. */
export function sharedLines(input: (gsi: number) => IrqLine): (gsi: number) => IrqLine {
  const lines = new Map<number, SharedIrqLine>();
  return (gsi) => {
    let line = lines.get(gsi);
    if (!line) {
      line = new SharedIrqLine(input(gsi));
      lines.set(gsi, line);
    }
    return line.connect();
  };
}

/** For the emulated accelerator: lines record their level (as a polling guest would see it), MSIs are counted. */
export class PolledInterrupts implements Interrupts {
  readonly msi: CountingMsiSink;
  /** The input of each GSI a device connected to. */
  readonly lines = new Map<number, CountingIrqLine>();
  readonly connect: (gsi: number) => IrqLine;

  constructor(logger?: WarnLogger) {
    this.msi = new CountingMsiSink(logger);
    this.connect = sharedLines((gsi) => {
      const line = new CountingIrqLine();
      this.lines.set(gsi, line);
      return line;
    });
  }

  close(): void {}
}
