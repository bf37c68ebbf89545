import type { IrqLine } from './irq-line';

/** A line that records what a device did to it: for tests and for polling an interrupt status. */
export class CountingIrqLine implements IrqLine {
  /** The current level. */
  high = false;
  /** Low-to-high transitions: what an edge-triggered interrupt controller would deliver. */
  rises = 0;
  /** High-to-low transitions. */
  falls = 0;
  /** Every setLevel call, including ones that repeat the current level. */
  calls = 0;

  setLevel(high: boolean): void {
    this.calls++;
    if (high && !this.high) this.rises++;
    if (!high && this.high) this.falls++;
    this.high = high;
  }
}
