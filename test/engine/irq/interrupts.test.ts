/**
 * Interrupt wiring as the VM builds it: the platform connects every device line to the accelerator's interrupt
 * controller, and PCI functions sharing an INTx GSI are wired-OR, so one device lowering its line never hides
 * another's pending interrupt.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { COM1_IRQ } from '../../../engine/src/devices';
import { CountingIrqLine, PolledInterrupts, SharedIrqLine } from '../../../engine/src/irq';
import type { IrqLine } from '../../../engine/src/irq';
import { intxGsi, PCI_INTA, PciConfigSpace, type PciFunction } from '../../../engine/src/pci';
import { createPlatform } from '../../../engine/src/vm/platform';

describe('SharedIrqLine', () => {
  it('holds the input high while any output is high', () => {
    const input = new CountingIrqLine();
    const shared = new SharedIrqLine(input);
    const a = shared.connect();
    const b = shared.connect();
    a.setLevel(true);
    b.setLevel(true);
    a.setLevel(false);
    expect(input.high).toBe(true);
    b.setLevel(false);
    expect(input.high).toBe(false);
    expect({ rises: input.rises, falls: input.falls }).toEqual({ rises: 1, falls: 1 });
  });

  it('ignores repeated levels of one output', () => {
    const input = new CountingIrqLine();
    const out = new SharedIrqLine(input).connect();
    out.setLevel(true);
    out.setLevel(true);
    out.setLevel(false);
    out.setLevel(false);
    expect({ calls: input.calls, high: input.high }).toEqual({ calls: 2, high: false });
  });
});

describe('platform interrupt wiring', () => {
  const logger = pino({ level: 'silent' });

  function platform() {
    const interrupts = new PolledInterrupts(logger);
    const events = { serialOutput: () => undefined, serialRxDrained: () => undefined, powerOff: () => undefined, debugExit: () => undefined, reset: () => undefined, panic: () => undefined };
    return { interrupts, platform: createPlatform(events, { debugExit: false, logger, interrupts }) };
  }

  it('connects the UART to its ISA line: an enabled THR-empty interrupt raises GSI 4', () => {
    const { interrupts, platform: p } = platform();
    p.pio.write(0x3f9, 1, 0x02); // IER: transmitter holding register empty
    p.pio.write(0x3fc, 1, 0x08); // MCR OUT2 gates the IRQ onto the bus on PCs
    expect(interrupts.lines.get(COM1_IRQ)?.high).toBe(true);
  });

  it('connects each PCI function to its swizzled INTx GSI; functions on one GSI are wired-OR', () => {
    const { interrupts, platform: p } = platform();
    const functions = [1, 2, 3, 4, 5].map((n) => new IntxFunction(`f${n}`));
    expect(functions.map((f) => p.pci.attach(f).device)).toEqual([1, 2, 3, 4, 5]);
    expect([...interrupts.lines.keys()].filter((gsi) => gsi >= 16).sort()).toEqual([16, 17, 18, 19]);
    // Slots 1 and 5 both swizzle INTA onto GSI 17.
    const line = interrupts.lines.get(intxGsi(1, 1))!;
    expect(intxGsi(5, 1)).toBe(17);
    functions[0].line!.setLevel(true);
    functions[4].line!.setLevel(true);
    functions[0].line!.setLevel(false);
    expect(line.high).toBe(true);
    functions[4].line!.setLevel(false);
    expect(line.high).toBe(false);
    expect(interrupts.lines.get(18)!.rises).toBe(0);
  });
});

/** A function with INTA and no BARs: records the line the PCI root connects. */
class IntxFunction implements PciFunction {
  readonly config = new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1000, revision: 0, classCode: 0xff0000, interruptPin: PCI_INTA });
  readonly barRegions = [];
  line: IrqLine | undefined;
  constructor(readonly name: string) {}
  connectIntx(line: IrqLine): void {
    this.line = line;
  }
}
