/**
 * 16550A UART at eight byte-wide registers, as Linux's 8250 driver and simple polling guests drive it.
 *
 * Protocol:
 * 1. Probe: the driver checks IER and SCR read back, sets MCR loopback (bit 4) and checks that MSR mirrors
 *    the MCR outputs, then writes FCR bit 0 and reads IIR bits 6-7 = 11: a 16550A with 16-byte FIFOs.
 * 2. Setup: LCR bit 7 (DLAB) maps offsets 0/1 to the divisor latch; the driver writes the baud divisor,
 *    clears DLAB, sets the word format in LCR and enables FIFOs with a receive trigger level in FCR.
 * 3. Transmit: wait for LSR THRE, write THR. The line here is infinitely fast: the byte goes to `output`
 *    at once, so THRE and TEMT always read 1, and with IER THRI the IRQ drops as THR is written and rises
 *    as it empties again: one edge per byte, as QEMU does.
 * 4. Receive: the host enqueues bytes; LSR DR says data waits; each RBR read pops one. The interrupt is
 *    "received data available" once the FIFO holds the trigger level and "character timeout" while it
 *    holds less. Approximation: hardware waits four character times without a read; having no timers,
 *    data below the trigger level counts as timed out at once (input is never stranded, only snappier).
 * 5. Interrupts: IIR names the highest-priority enabled cause: line status (overrun) > received data >
 *    character timeout > THR empty > modem status. Each clears at its source: reading LSR, draining RBR,
 *    reading IIR (THR empty) or reading MSR. The IRQ line is high while IIR names one. MCR OUT2 does not
 *    gate the line (PC boards use it to tri-state the IRQ; QEMU ignores it too, and so do we).
 *
 * Host side: `enqueueInput` takes what fits (16 bytes with FIFOs on, 1 with them off, 0 in loopback, where
 * the serial input is disconnected) and returns the count; the caller keeps the rest and offers it again
 * when `onRxDrained` fires, once per refusal. Overruns (LSR OE) therefore only come from loopback.
 */
import type { BusDevice } from '../bus/bus-device';
import type { IrqLine } from '../irq/irq-line';

/** Register offsets. Offsets 0 and 1 depend on LCR DLAB, offset 2 on the access direction. */
export const UART_RBR = 0; // read, DLAB 0: receiver buffer (pops the receive FIFO)
export const UART_THR = 0; // write, DLAB 0: transmitter holding register
export const UART_DLL = 0; // DLAB 1: divisor latch, low byte
export const UART_IER = 1; // DLAB 0: interrupt enable
export const UART_DLM = 1; // DLAB 1: divisor latch, high byte
export const UART_IIR = 2; // read: interrupt identification
export const UART_FCR = 2; // write: FIFO control
export const UART_LCR = 3; // line control
export const UART_MCR = 4; // modem control
export const UART_LSR = 5; // line status (writes ignored)
export const UART_MSR = 6; // modem status (writes ignored)
export const UART_SCR = 7; // scratch: plain storage, used by probes (and benchmarks)

/** IER bits. */
export const UART_IER_RDI = 0x01; // received data available (and character timeout)
export const UART_IER_THRI = 0x02; // transmitter holding register empty
export const UART_IER_RLSI = 0x04; // receiver line status (overrun)
export const UART_IER_MSI = 0x08; // modem status change
export const UART_IER_MASK = 0x0f; // the bits a 16550A implements; the rest read 0 (Linux probes this)

/** IIR values: bit 0 clear means an interrupt is pending, bits 1-3 say which. */
export const UART_IIR_NO_INT = 0x01; // nothing pending
export const UART_IIR_MSI = 0x00; // modem status (lowest priority)
export const UART_IIR_THRI = 0x02; // THR empty
export const UART_IIR_RDI = 0x04; // received data at trigger level
export const UART_IIR_RLSI = 0x06; // receiver line status (highest priority)
export const UART_IIR_CTI = 0x0c; // character timeout
export const UART_IIR_FIFO_ENABLED = 0xc0; // bits 6-7: FIFOs on (a 16550A sets both)

/** FCR bits. */
export const UART_FCR_ENABLE_FIFO = 0x01; // FIFOs on; changing it flushes both FIFOs
export const UART_FCR_CLEAR_RCVR = 0x02; // flush the receive FIFO (self-clearing)
export const UART_FCR_CLEAR_XMIT = 0x04; // flush the transmit FIFO (self-clearing)
export const UART_FCR_DMA_SELECT = 0x08; // DMA mode 1: accepted, no effect without DMA
export const UART_FCR_TRIGGER_SHIFT = 6; // bits 6-7: receive trigger level, indexes UART_FCR_TRIGGER_LEVELS
export const UART_FCR_TRIGGER_LEVELS: readonly number[] = [1, 4, 8, 14];

/** LCR bits. */
export const UART_LCR_DLAB = 0x80; // divisor latch access: offsets 0/1 become DLL/DLM
export const UART_LCR_SBC = 0x40; // set break: stored, no effect on a virtual line

/** MCR bits. */
export const UART_MCR_DTR = 0x01; // data terminal ready (loops to MSR DSR)
export const UART_MCR_RTS = 0x02; // request to send (loops to MSR CTS)
export const UART_MCR_OUT1 = 0x04; // auxiliary output 1 (loops to MSR RI)
export const UART_MCR_OUT2 = 0x08; // auxiliary output 2 (loops to MSR DCD; does not gate the IRQ here)
export const UART_MCR_LOOP = 0x10; // loopback: THR feeds RBR, MCR outputs feed MSR inputs
export const UART_MCR_MASK = 0x1f; // bits 5-7 read 0 on a 16550A

/** LSR bits. */
export const UART_LSR_DR = 0x01; // data ready: the receive FIFO is not empty
export const UART_LSR_OE = 0x02; // overrun: a byte arrived with no room (cleared by reading LSR)
export const UART_LSR_PE = 0x04; // parity error: never on a virtual line
export const UART_LSR_FE = 0x08; // framing error: never on a virtual line
export const UART_LSR_BI = 0x10; // break received: never (the host has no way to send one yet)
export const UART_LSR_THRE = 0x20; // THR empty: always, transmission is instant
export const UART_LSR_TEMT = 0x40; // transmitter empty: always, transmission is instant
export const UART_LSR_FIFOE = 0x80; // error byte in the receive FIFO: never (no PE/FE/BI)
export const UART_LSR_INT_ANY = UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI; // line status interrupt causes

/** MSR bits: deltas in 0-3 (cleared by reading MSR), input lines in 4-7. */
export const UART_MSR_DCTS = 0x01; // CTS changed
export const UART_MSR_DDSR = 0x02; // DSR changed
export const UART_MSR_TERI = 0x04; // RI went from on to off
export const UART_MSR_DDCD = 0x08; // DCD changed
export const UART_MSR_CTS = 0x10; // clear to send
export const UART_MSR_DSR = 0x20; // data set ready
export const UART_MSR_RI = 0x40; // ring indicator
export const UART_MSR_DCD = 0x80; // data carrier detect
export const UART_MSR_ANY_DELTA = 0x0f;

/** Receive FIFO depth of a 16550A. */
export const UART_FIFO_SIZE = 16;
/** Baud rate at divisor 1 (1.8432 MHz crystal / 16). */
export const UART_BASE_BAUD = 115200;
/** Divisor after reset: 9600 baud, until the driver programs its own. */
export const UART_RESET_DIVISOR = 12;
/** What the host side of the line drives into MSR: a console that is always connected and never rings. */
const HOST_MODEM_INPUTS = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
/** Index mask of the power-of-two receive ring. */
const RING_MASK = UART_FIFO_SIZE - 1;

export interface Serial16550aOptions {
  /** The UART's interrupt line, high while IIR names an interrupt. */
  irq: IrqLine;
  /** Called synchronously for each transmitted byte (the engine batches them). */
  output: (byte: number) => void;
  /**
   * Called once after `enqueueInput` took less than offered, when the receiver can take input again: the
   * guest read the last byte, flushed the FIFO, left loopback, or the UART was reset. May call
   * `enqueueInput` right away.
   */
  onRxDrained?: () => void;
}

export class Serial16550a implements BusDevice {
  private dll = UART_RESET_DIVISOR & 0xff;
  private dlm = UART_RESET_DIVISOR >>> 8;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private fifoEnabled = false;
  private triggerLevel = 1;
  /** Sticky LSR error bits (only OE happens here). */
  private lineErrors = 0;
  /** MSR delta bits not yet read. */
  private msrDeltas = 0;
  /** THR-empty interrupt pending: set as THR empties, cleared by reading it in IIR or writing THR. */
  private thrEmptyPending = false;
  private readonly rx = new Uint8Array(UART_FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private irqHigh = false;
  /** The host was refused input and waits for onRxDrained. */
  private inputRefused = false;

  private readonly irq: IrqLine;
  private readonly output: (byte: number) => void;
  private readonly onRxDrained: (() => void) | undefined;

  constructor(options: Serial16550aOptions) {
    this.irq = options.irq;
    this.output = options.output;
    this.onRxDrained = options.onRxDrained;
  }

  /** Wider accesses act as consecutive byte accesses, as an 8-bit ISA device sees them. */
  read(offset: number, size: number): number {
    if (size === 1) return this.readRegister(offset);
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readRegister(offset + i) << (8 * i);
    return value >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    if (size === 1) {
      this.writeRegister(offset, value & 0xff);
      return;
    }
    for (let i = 0; i < size; i++) this.writeRegister(offset + i, (value >>> (8 * i)) & 0xff);
  }

  /** Host input: queues what fits and returns how many bytes of `bytes` were taken. */
  enqueueInput(bytes: Uint8Array): number {
    const taken = Math.min(this.rxSpace(), bytes.length);
    for (let i = 0; i < taken; i++) this.push(bytes[i] as number);
    if (taken > 0) this.update();
    if (taken < bytes.length) this.inputRefused = true;
    return taken;
  }

  /** How many bytes `enqueueInput` would take now. */
  rxSpace(): number {
    return (this.mcr & UART_MCR_LOOP) !== 0 ? 0 : this.capacity() - this.rxCount;
  }

  /** The programmed baud divisor (DLM:DLL). */
  get divisor(): number {
    return (this.dlm << 8) | this.dll;
  }

  /** Back to power-on state (VM reset): FIFOs off and empty, no interrupts enabled. */
  reset(): void {
    this.dll = UART_RESET_DIVISOR & 0xff;
    this.dlm = UART_RESET_DIVISOR >>> 8;
    this.ier = this.lcr = this.mcr = this.scr = 0;
    this.fifoEnabled = false;
    this.triggerLevel = 1;
    this.lineErrors = this.msrDeltas = 0;
    this.thrEmptyPending = false;
    this.rxHead = this.rxCount = 0;
    this.update();
    this.notifyRxSpace();
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case UART_RBR:
        return (this.lcr & UART_LCR_DLAB) !== 0 ? this.dll : this.readRbr();
      case UART_IER:
        return (this.lcr & UART_LCR_DLAB) !== 0 ? this.dlm : this.ier;
      case UART_IIR:
        return this.readIir();
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR:
        return this.readLsr();
      case UART_MSR:
        return this.readMsr();
      case UART_SCR:
        return this.scr;
      default:
        return 0xff; // beyond the eight registers: only reachable by calling the device directly
    }
  }

  private writeRegister(offset: number, value: number): void {
    switch (offset) {
      case UART_THR:
        if ((this.lcr & UART_LCR_DLAB) !== 0) this.dll = value;
        else this.writeThr(value);
        return;
      case UART_IER:
        if ((this.lcr & UART_LCR_DLAB) !== 0) this.dlm = value;
        else this.writeIer(value);
        return;
      case UART_FCR:
        this.writeFcr(value);
        return;
      case UART_LCR:
        this.lcr = value;
        return;
      case UART_MCR:
        this.writeMcr(value);
        return;
      case UART_SCR:
        this.scr = value;
        return;
      default:
        return; // LSR and MSR are read-only
    }
  }

  private readRbr(): number {
    if (this.rxCount === 0) return 0;
    const byte = this.rx[this.rxHead] as number;
    this.rxHead = (this.rxHead + 1) & RING_MASK;
    this.rxCount--;
    this.update();
    if (this.rxCount === 0) this.notifyRxSpace();
    return byte;
  }

  private readIir(): number {
    const id = this.pendingInterrupt();
    if (id === UART_IIR_THRI) {
      this.thrEmptyPending = false; // reading IIR acknowledges THR empty
      this.update();
    }
    return this.fifoEnabled ? id | UART_IIR_FIFO_ENABLED : id;
  }

  private readLsr(): number {
    let lsr = this.lineErrors | UART_LSR_THRE | UART_LSR_TEMT;
    if (this.rxCount > 0) lsr |= UART_LSR_DR;
    if (this.lineErrors !== 0) {
      this.lineErrors = 0; // reading LSR clears the error bits and the line status interrupt
      this.update();
    }
    return lsr;
  }

  private readMsr(): number {
    const msr = this.modemInputs() | this.msrDeltas;
    if (this.msrDeltas !== 0) {
      this.msrDeltas = 0;
      this.update();
    }
    return msr;
  }

  private writeThr(byte: number): void {
    this.thrEmptyPending = false;
    this.update(); // THR full for an instant: the IRQ drops so that THR empty is a fresh edge
    if ((this.mcr & UART_MCR_LOOP) !== 0) this.loopBack(byte);
    else this.output(byte);
    this.thrEmptyPending = true;
    this.update();
  }

  private writeIer(value: number): void {
    const ier = value & UART_IER_MASK;
    // THR is always empty, so enabling THRI raises THR empty at once (Linux's startup test expects it).
    if (((ier ^ this.ier) & UART_IER_THRI) !== 0) this.thrEmptyPending = (ier & UART_IER_THRI) !== 0;
    this.ier = ier;
    this.update();
  }

  private writeFcr(value: number): void {
    const enable = (value & UART_FCR_ENABLE_FIFO) !== 0;
    const flushAll = enable !== this.fifoEnabled;
    this.fifoEnabled = enable;
    if (enable) this.triggerLevel = UART_FCR_TRIGGER_LEVELS[value >>> UART_FCR_TRIGGER_SHIFT] as number;
    if (flushAll || (value & UART_FCR_CLEAR_RCVR) !== 0) this.rxHead = this.rxCount = 0;
    if (flushAll || (value & UART_FCR_CLEAR_XMIT) !== 0) this.thrEmptyPending = true; // as QEMU: emptied THR
    this.update();
    this.notifyRxSpace(); // also covers a capacity change (FIFOs turned on)
  }

  private writeMcr(value: number): void {
    const before = this.modemInputs();
    this.mcr = value & UART_MCR_MASK;
    const after = this.modemInputs();
    const changed = before ^ after;
    this.msrDeltas |= (changed >>> 4) & (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
    if ((before & ~after & UART_MSR_RI) !== 0) this.msrDeltas |= UART_MSR_TERI;
    this.update();
    this.notifyRxSpace(); // leaving loopback reconnects the input
  }

  /** MSR bits 4-7: the host's lines, or in loopback the MCR outputs (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD). */
  private modemInputs(): number {
    const mcr = this.mcr;
    if ((mcr & UART_MCR_LOOP) === 0) return HOST_MODEM_INPUTS;
    return (
      ((mcr & UART_MCR_DTR) << 5) | ((mcr & UART_MCR_RTS) << 3) | ((mcr & (UART_MCR_OUT1 | UART_MCR_OUT2)) << 4)
    );
  }

  /** A transmitted byte arriving at the receiver in loopback: may overrun. */
  private loopBack(byte: number): void {
    if (this.rxCount < this.capacity()) {
      this.push(byte);
      return;
    }
    this.lineErrors |= UART_LSR_OE;
    // Without FIFOs the new byte overwrites RBR; a full FIFO keeps its contents and loses the new byte.
    if (!this.fifoEnabled) this.rx[this.rxHead] = byte;
  }

  /** Tells a refused host that input fits again. */
  private notifyRxSpace(): void {
    if (!this.inputRefused || this.rxSpace() === 0) return;
    this.inputRefused = false;
    this.onRxDrained?.();
  }

  private push(byte: number): void {
    this.rx[(this.rxHead + this.rxCount) & RING_MASK] = byte;
    this.rxCount++;
  }

  private capacity(): number {
    return this.fifoEnabled ? UART_FIFO_SIZE : 1;
  }

  /** The IIR interrupt id of the highest-priority enabled pending cause, or UART_IIR_NO_INT. */
  private pendingInterrupt(): number {
    const ier = this.ier;
    if (ier === 0) return UART_IIR_NO_INT;
    if ((ier & UART_IER_RLSI) !== 0 && (this.lineErrors & UART_LSR_INT_ANY) !== 0) return UART_IIR_RLSI;
    if ((ier & UART_IER_RDI) !== 0 && this.rxCount > 0) {
      return !this.fifoEnabled || this.rxCount >= this.triggerLevel ? UART_IIR_RDI : UART_IIR_CTI;
    }
    if ((ier & UART_IER_THRI) !== 0 && this.thrEmptyPending) return UART_IIR_THRI;
    if ((ier & UART_IER_MSI) !== 0 && this.msrDeltas !== 0) return UART_IIR_MSI;
    return UART_IIR_NO_INT;
  }

  /** Drives the IRQ line to match IIR, calling it only on a change. */
  private update(): void {
    const high = this.pendingInterrupt() !== UART_IIR_NO_INT;
    if (high === this.irqHigh) return;
    this.irqHigh = high;
    this.irq.setLevel(high);
  }
}
