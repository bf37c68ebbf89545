import { Bus } from '../../../engine/src/bus';
import { COM1_BASE, COM1_LEN, Serial16550a } from '../../../engine/src/devices';
import { CountingIrqLine } from '../../../engine/src/irq';

/** A UART on a port I/O bus at COM1, driven with inb/outb as a guest does. */
export interface UartHarness {
  uart: Serial16550a;
  irq: CountingIrqLine;
  output: number[];
  drained: { count: number };
  inb(register: number): number;
  outb(register: number, value: number): void;
  text(): string;
}

export function uartHarness(onRxDrained?: () => void): UartHarness {
  const irq = new CountingIrqLine();
  const output: number[] = [];
  const drained = { count: 0 };
  const uart = new Serial16550a({
    irq,
    output: (byte) => output.push(byte),
    onRxDrained: () => {
      drained.count++;
      onRxDrained?.();
    },
  });
  const bus = new Bus('pio');
  bus.insert(COM1_BASE, COM1_LEN, uart, 'com1');
  return {
    uart,
    irq,
    output,
    drained,
    inb: (register) => bus.read(COM1_BASE + register, 1),
    outb: (register, value) => bus.write(COM1_BASE + register, 1, value),
    text: () => String.fromCharCode(...output),
  };
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
