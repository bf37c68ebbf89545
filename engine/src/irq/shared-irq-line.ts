import type { IrqLine } from './irq-line';

/**
 * One interrupt input driven by several devices, as PCI INTx lines are (wired-OR: four GSIs shared by 31 slots).
 * Each device gets its own output from connect(); the input is high while any output is high, so one device
 * lowering its output never hides another's pending interrupt.
 */
export class SharedIrqLine {
  private readonly high = new Set<number>();
  private outputs = 0;

  constructor(private readonly input: IrqLine) {}

  /** A new device output onto the line, initially low. */
  connect(): IrqLine {
    const id = this.outputs++;
    return {
      setLevel: (high: boolean) => {
        const before = this.high.size > 0;
        if (high) this.high.add(id);
        else this.high.delete(id);
        const after = this.high.size > 0;
        if (after !== before) this.input.setLevel(after);
      },
    };
  }
}
