export { CountingIrqLine } from './counting-irq-line';
export { NullIrqLine, type IrqLine } from './irq-line';
