export { CountingIrqLine } from './counting-irq-line';
export { PolledInterrupts, sharedLines, type Interrupts } from './interrupts';
export { NullIrqLine, type IrqLine } from './irq-line';
export { SharedIrqLine } from './shared-irq-line';
