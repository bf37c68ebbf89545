/**
 * Register sequences exactly as Linux's 8250 driver (autoconfig, startup, set_termios, interrupt handler)
 * and a simple polling guest issue them.
 */
import { describe, expect, it } from 'vitest';
import {
  UART_DLL,
  UART_DLM,
  UART_FCR,
  UART_FCR_CLEAR_RCVR,
  UART_FCR_CLEAR_XMIT,
  UART_FCR_ENABLE_FIFO,
  UART_IER,
  UART_IER_RDI,
  UART_IER_RLSI,
  UART_IER_THRI,
  UART_IIR,
  UART_IIR_NO_INT,
  UART_LCR,
  UART_LCR_DLAB,
  UART_LSR,
  UART_LSR_DR,
  UART_LSR_TEMT,
  UART_LSR_THRE,
  UART_MCR,
  UART_MCR_DTR,
  UART_MCR_LOOP,
  UART_MCR_OUT2,
  UART_MCR_RTS,
  UART_MSR,
  UART_RBR,
  UART_SCR,
  UART_THR,
} from '../../../engine/src/devices';
import { bytes, uartHarness, type UartHarness } from './uart-harness';

const UART_LCR_WLEN8 = 0x03; // 8 data bits, as Linux's termios sets
const UART_FCR_R_TRIG_10 = 0x80; // trigger level 8: Linux's FCR for a 16550A
const UART_FCR7_64BYTE = 0x20; // 16750 64-byte FIFO request
const UART_IER_UUE = 0x40; // XScale UART unit enable, probed by Linux
const UART_LCR_CONF_MODE_A = 0x80; // DLAB: where a 16650 shows its EFR
const UART_LCR_CONF_MODE_B = 0xbf; // the EFR access key
const UART_EFR = 2; // enhanced feature register offset on 16650-class chips

/** Linux autoconfig(): what it decides this UART is, or why it gave up. */
function linuxAutoconfig(u: UartHarness): string {
  // IER read-back test.
  const savedIer = u.inb(UART_IER);
  u.outb(UART_IER, 0);
  const scratch2 = u.inb(UART_IER) & 0x0f;
  u.outb(UART_IER, 0x0f);
  const scratch3 = u.inb(UART_IER) & 0x0f;
  u.outb(UART_IER, savedIer);
  if (scratch2 !== 0 || scratch3 !== 0x0f) return 'no uart (IER test)';

  // Loopback test: RTS|OUT2 must come back as CTS|DCD.
  const savedMcr = u.inb(UART_MCR);
  const savedLcr = u.inb(UART_LCR);
  u.outb(UART_MCR, UART_MCR_LOOP | 0x0a);
  const status1 = u.inb(UART_MSR) & 0xf0;
  u.outb(UART_MCR, savedMcr);
  if (status1 !== 0x90) return 'no uart (loopback test)';

  u.outb(UART_LCR, UART_LCR_CONF_MODE_B);
  u.outb(UART_EFR, 0);
  u.outb(UART_LCR, 0);
  u.outb(UART_FCR, UART_FCR_ENABLE_FIFO);
  const kind = u.inb(UART_IIR) >> 6;
  let type: string;
  if (kind !== 3) {
    type = ['8250/16450', 'unknown', '16550'][kind] as string;
  } else {
    // autoconfig_16550a: a 16650 shows a zero EFR under DLAB or 0xbf.
    u.outb(UART_LCR, UART_LCR_CONF_MODE_A);
    const efrA = u.inb(UART_EFR);
    u.outb(UART_LCR, UART_LCR_CONF_MODE_B);
    const efrB = u.inb(UART_EFR);
    // 16750: a 64-byte FIFO shows IIR bit 5 when requested under DLAB.
    u.outb(UART_LCR, 0);
    u.outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
    const s1 = u.inb(UART_IIR) & 0xe0;
    u.outb(UART_FCR, UART_FCR_ENABLE_FIFO);
    u.outb(UART_LCR, UART_LCR_CONF_MODE_A);
    u.outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
    const s2 = u.inb(UART_IIR) & 0xe0;
    u.outb(UART_FCR, UART_FCR_ENABLE_FIFO);
    u.outb(UART_LCR, 0);
    // XScale: IER bit 6 sticks.
    const ier = u.inb(UART_IER);
    u.outb(UART_IER, ier | UART_IER_UUE);
    const uue = u.inb(UART_IER) & UART_IER_UUE;
    u.outb(UART_IER, ier);
    if (efrA === 0 || efrB === 0) type = '16650';
    else if (s1 === 0xc0 && s2 === 0xe0) type = '16750';
    else if (uue !== 0) type = 'xscale';
    else type = '16550A';
  }
  // Reset: restore LCR and MCR, clear FIFOs, drain RBR, IER off.
  u.outb(UART_LCR, savedLcr);
  u.outb(UART_MCR, savedMcr);
  linuxClearFifos(u);
  u.inb(UART_RBR);
  u.outb(UART_IER, 0);
  return type;
}

function linuxClearFifos(u: UartHarness): void {
  u.outb(UART_FCR, UART_FCR_ENABLE_FIFO);
  u.outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
  u.outb(UART_FCR, 0);
}

/** serial8250_do_startup() then set_termios() at 115200 8N1; returns the bugs Linux would flag. */
function linuxStartup(u: UartHarness): string[] {
  const bugs: string[] = [];
  linuxClearFifos(u);
  u.inb(UART_LSR);
  u.inb(UART_RBR);
  u.inb(UART_IIR);
  u.inb(UART_MSR);
  if (u.inb(UART_LSR) === 0xff) bugs.push('LSR reads 0xff: no uart');
  u.outb(UART_LCR, UART_LCR_WLEN8);

  // THRE re-assert test (UART_BUG_THRE): THRI enabled twice must both times show THR empty.
  u.outb(UART_IER, UART_IER_THRI);
  const iir1 = u.inb(UART_IIR);
  u.outb(UART_IER, 0);
  u.outb(UART_IER, UART_IER_THRI);
  const iir = u.inb(UART_IIR);
  u.outb(UART_IER, 0);
  if ((iir1 & UART_IIR_NO_INT) === 0 && (iir & UART_IIR_NO_INT) !== 0) bugs.push('UART_BUG_THRE');

  u.outb(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
  // TX enable test (UART_BUG_TXEN): THRI must show up in IIR while LSR says TEMT.
  u.outb(UART_IER, UART_IER_THRI);
  const lsr = u.inb(UART_LSR);
  const iir2 = u.inb(UART_IIR);
  u.outb(UART_IER, 0);
  if ((lsr & UART_LSR_TEMT) !== 0 && (iir2 & UART_IIR_NO_INT) !== 0) bugs.push('UART_BUG_TXEN');

  u.inb(UART_LSR);
  u.inb(UART_RBR);
  u.inb(UART_IIR);
  u.inb(UART_MSR);
  u.outb(UART_IER, UART_IER_RLSI | UART_IER_RDI);

  // set_termios: divisor 1 (115200), 8N1, FIFO with trigger level 8.
  u.outb(UART_LCR, UART_LCR_WLEN8 | UART_LCR_DLAB);
  u.outb(UART_DLL, 1);
  u.outb(UART_DLM, 0);
  u.outb(UART_LCR, UART_LCR_WLEN8);
  u.outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10);
  return bugs;
}

/** serial8250_handle_irq(): one interrupt's worth of work; returns the bytes received. */
function linuxHandleIrq(u: UartHarness, transmit: number[]): number[] {
  const received: number[] = [];
  const iir = u.inb(UART_IIR);
  if ((iir & UART_IIR_NO_INT) !== 0) return received;
  let lsr = u.inb(UART_LSR);
  while ((lsr & UART_LSR_DR) !== 0) {
    received.push(u.inb(UART_RBR));
    lsr = u.inb(UART_LSR);
  }
  if ((lsr & UART_LSR_THRE) !== 0) {
    for (let i = 0; i < 16 && transmit.length > 0; i++) u.outb(UART_THR, transmit.shift() as number);
    if (transmit.length === 0) u.outb(UART_IER, u.inb(UART_IER) & ~UART_IER_THRI); // __stop_tx
  }
  return received;
}

describe('Serial16550a driven by Linux 8250', () => {
  it('autoconfig identifies a 16550A and leaves no interrupt pending', () => {
    const u = uartHarness();
    expect(linuxAutoconfig(u)).toBe('16550A');
    expect(u.output).toEqual([]); // probing must not transmit anything
    expect(u.inb(UART_IIR)).toBe(UART_IIR_NO_INT);
    expect(u.irq.high).toBe(false);
  });

  it('startup flags no THRE/TXEN bugs and programs 115200 8N1 with FIFOs', () => {
    const u = uartHarness();
    linuxAutoconfig(u);
    expect(linuxStartup(u)).toEqual([]);
    expect(u.uart.divisor).toBe(1);
    expect(u.inb(UART_LCR)).toBe(UART_LCR_WLEN8);
    expect(u.inb(UART_IER)).toBe(UART_IER_RLSI | UART_IER_RDI); // DLAB writes did not touch IER
    expect(u.inb(UART_IIR)).toBe(0xc1); // FIFOs on, nothing pending
    expect(u.irq.high).toBe(false);
  });

  it('interrupt-driven transmit: THRI raises the IRQ, the handler fills the FIFO until done', () => {
    const u = uartHarness();
    linuxAutoconfig(u);
    linuxStartup(u);
    const message = [...bytes('Linux version 6.1 (hv) #1 SMP PREEMPT_DYNAMIC\n')];
    const pending = message.slice();
    u.outb(UART_IER, u.inb(UART_IER) | UART_IER_THRI); // __start_tx
    let interrupts = 0;
    while (u.irq.high && interrupts < 100) {
      interrupts++;
      linuxHandleIrq(u, pending);
    }
    expect(u.output).toEqual(message);
    expect(interrupts).toBe(Math.ceil(message.length / 16));
    expect(u.irq.high).toBe(false);
  });

  it('interrupt-driven receive: a burst below the trigger level arrives through the timeout interrupt', () => {
    const u = uartHarness();
    linuxAutoconfig(u);
    linuxStartup(u);
    expect(u.uart.enqueueInput(bytes('ls\r'))).toBe(3);
    expect(u.irq.high).toBe(true);
    expect(u.inb(UART_IIR)).toBe(0xcc); // character timeout (3 < trigger level 8)
    expect(String.fromCharCode(...linuxHandleIrq(u, []))).toBe('ls\r');
    expect(u.irq.high).toBe(false);
    expect(u.drained.count).toBe(0); // everything was taken: nobody waits
  });

  it('interrupt-driven receive of a paste larger than the FIFO: the host refills on each drain', () => {
    let pending = bytes('a line longer than sixteen bytes, pasted at once\n');
    const feed = (): void => {
      pending = pending.subarray(u.uart.enqueueInput(pending));
    };
    const u = uartHarness(feed);
    linuxAutoconfig(u);
    linuxStartup(u);
    const total = pending.length;
    feed();
    expect(pending.length).toBe(total - 16);
    expect(u.inb(UART_IIR)).toBe(0xc4); // received data available: 16 >= trigger level 8
    const received: number[] = [];
    for (let interrupts = 0; u.irq.high && interrupts < 100; interrupts++) received.push(...linuxHandleIrq(u, []));
    expect(String.fromCharCode(...received)).toBe('a line longer than sixteen bytes, pasted at once\n');
    expect(u.drained.count).toBe(Math.ceil(total / 16) - 1);
    expect(u.irq.high).toBe(false);
  });

  it('a polling guest prints with THRE waits and reads input with DR polls', () => {
    const u = uartHarness();
    // Typical bare-metal init: IER off, 115200 8N1, FIFOs on and cleared, DTR|RTS|OUT2.
    u.outb(UART_IER, 0);
    u.outb(UART_LCR, UART_LCR_DLAB);
    u.outb(UART_DLL, 1);
    u.outb(UART_DLM, 0);
    u.outb(UART_LCR, UART_LCR_WLEN8);
    u.outb(UART_FCR, 0xc7);
    u.outb(UART_MCR, 0x0b);
    for (const byte of bytes('hello\n')) {
      let spins = 0;
      while ((u.inb(UART_LSR) & UART_LSR_THRE) === 0) if (++spins > 10) throw new Error('THRE never set');
      u.outb(UART_THR, byte);
    }
    expect(u.text()).toBe('hello\n');
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(0);
    u.uart.enqueueInput(bytes('y'));
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(UART_LSR_DR);
    expect(u.inb(UART_RBR)).toBe('y'.charCodeAt(0));
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(0);
    expect(u.irq.rises).toBe(0); // IER off: the line never moved
  });

  it('the benchmark path: scratch writes in a loop have no side effects', () => {
    const u = uartHarness();
    for (let i = 0; i < 1000; i++) u.outb(UART_SCR, i);
    expect(u.inb(UART_SCR)).toBe(999 & 0xff);
    expect(u.output).toEqual([]);
    expect(u.irq.calls).toBe(0);
  });
});
