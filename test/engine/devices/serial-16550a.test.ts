import { describe, expect, it } from 'vitest';
import {
  Serial16550a,
  UART_DLL,
  UART_DLM,
  UART_FCR,
  UART_FCR_CLEAR_RCVR,
  UART_FCR_CLEAR_XMIT,
  UART_FCR_ENABLE_FIFO,
  UART_FCR_TRIGGER_SHIFT,
  UART_FIFO_SIZE,
  UART_IER,
  UART_IER_MSI,
  UART_IER_RDI,
  UART_IER_RLSI,
  UART_IER_THRI,
  UART_IIR,
  UART_IIR_CTI,
  UART_IIR_FIFO_ENABLED,
  UART_IIR_MSI,
  UART_IIR_NO_INT,
  UART_IIR_RDI,
  UART_IIR_RLSI,
  UART_IIR_THRI,
  UART_LCR,
  UART_LCR_DLAB,
  UART_LSR,
  UART_LSR_DR,
  UART_LSR_OE,
  UART_LSR_TEMT,
  UART_LSR_THRE,
  UART_MCR,
  UART_MCR_DTR,
  UART_MCR_LOOP,
  UART_MCR_OUT1,
  UART_MCR_OUT2,
  UART_MCR_RTS,
  UART_MSR,
  UART_MSR_CTS,
  UART_MSR_DCD,
  UART_MSR_DCTS,
  UART_MSR_DDCD,
  UART_MSR_DDSR,
  UART_MSR_DSR,
  UART_MSR_RI,
  UART_MSR_TERI,
  UART_RBR,
  UART_RESET_DIVISOR,
  UART_SCR,
  UART_THR,
} from '../../../engine/src/devices';
import { CountingIrqLine } from '../../../engine/src/irq';
import { bytes, uartHarness, type UartHarness } from './uart-harness';

const FIFO_ON = UART_FCR_ENABLE_FIFO;
const trigger = (level: 0 | 1 | 2 | 3): number => FIFO_ON | (level << UART_FCR_TRIGGER_SHIFT);

function drain(u: UartHarness): number[] {
  const got: number[] = [];
  while ((u.inb(UART_LSR) & UART_LSR_DR) !== 0) got.push(u.inb(UART_RBR));
  return got;
}

describe('Serial16550a power-on state', () => {
  it('reads as an idle 16550A with FIFOs off', () => {
    const u = uartHarness();
    expect(u.inb(UART_IER)).toBe(0);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_NO_INT);
    expect(u.inb(UART_LCR)).toBe(0);
    expect(u.inb(UART_MCR)).toBe(0);
    expect(u.inb(UART_LSR)).toBe(UART_LSR_THRE | UART_LSR_TEMT);
    expect(u.inb(UART_MSR)).toBe(UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    expect(u.uart.divisor).toBe(UART_RESET_DIVISOR);
    expect(u.uart.rxSpace()).toBe(1);
    expect(u.irq.calls).toBe(0);
  });
});

describe('Serial16550a divisor latch (DLAB)', () => {
  it('maps offsets 0 and 1 to DLL/DLM while LCR bit 7 is set, without touching THR or IER', () => {
    const u = uartHarness();
    u.outb(UART_IER, UART_IER_RDI);
    u.outb(UART_LCR, UART_LCR_DLAB | 0x03);
    u.outb(UART_DLL, 0x80);
    u.outb(UART_DLM, 0x01);
    expect(u.inb(UART_DLL)).toBe(0x80);
    expect(u.inb(UART_DLM)).toBe(0x01);
    expect(u.output).toEqual([]); // the DLL write was not a transmission
    u.outb(UART_LCR, 0x03);
    expect(u.uart.divisor).toBe(0x180);
    expect(u.inb(UART_IER)).toBe(UART_IER_RDI);
    u.outb(UART_THR, 0x41);
    expect(u.output).toEqual([0x41]);
  });

  it('RBR is not popped by a DLL read', () => {
    const u = uartHarness();
    u.uart.enqueueInput(bytes('x'));
    u.outb(UART_LCR, UART_LCR_DLAB);
    expect(u.inb(UART_RBR)).toBe(UART_RESET_DIVISOR);
    u.outb(UART_LCR, 0);
    expect(u.inb(UART_RBR)).toBe('x'.charCodeAt(0));
  });
});

describe('Serial16550a transmit', () => {
  it('sends each THR byte to output at once; THRE and TEMT stay set', () => {
    const u = uartHarness();
    for (const b of bytes('ok')) {
      u.outb(UART_THR, b);
      expect(u.inb(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT)).toBe(UART_LSR_THRE | UART_LSR_TEMT);
    }
    expect(u.text()).toBe('ok');
  });

  it('masks wide values to a byte', () => {
    const u = uartHarness();
    u.outb(UART_THR, 0x1ff);
    expect(u.output).toEqual([0xff]);
  });

  it('THR empty: enabling THRI raises it, reading IIR clears it, each write raises it again', () => {
    const u = uartHarness();
    u.outb(UART_IER, UART_IER_THRI);
    expect(u.irq.high).toBe(true);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_THRI);
    expect(u.irq.high).toBe(false);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_NO_INT); // cleared by the first read
    const risesBefore = u.irq.rises;
    u.outb(UART_THR, 0x41);
    expect(u.irq.high).toBe(true);
    u.outb(UART_THR, 0x42); // without acknowledging: the line still drops and rises, one edge per byte
    expect(u.irq.rises).toBe(risesBefore + 2);
    u.outb(UART_IER, 0);
    expect(u.irq.high).toBe(false);
  });

  it('IIR reads THR empty only while it is the top interrupt, so a read shadowed by RDA keeps it', () => {
    const u = uartHarness();
    u.outb(UART_IER, UART_IER_THRI | UART_IER_RDI);
    u.uart.enqueueInput(bytes('a'));
    expect(u.inb(UART_IIR)).toBe(UART_IIR_RDI);
    u.inb(UART_RBR);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_THRI);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_NO_INT);
  });

  it('flushing the transmit FIFO reports THR empty again', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.outb(UART_IER, UART_IER_THRI);
    u.inb(UART_IIR);
    expect(u.irq.high).toBe(false);
    u.outb(UART_FCR, FIFO_ON | UART_FCR_CLEAR_XMIT);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | UART_IIR_THRI);
  });
});

describe('Serial16550a receive', () => {
  it('DR follows the FIFO; RBR pops in order and reads 0 when empty', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    expect(u.uart.enqueueInput(bytes('abc'))).toBe(3);
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(UART_LSR_DR);
    expect(String.fromCharCode(...drain(u))).toBe('abc');
    expect(u.inb(UART_RBR)).toBe(0);
  });

  it('takes 16 bytes with FIFOs on, 1 without, and reports the space left', () => {
    const u = uartHarness();
    expect(u.uart.enqueueInput(bytes('xy'))).toBe(1);
    expect(u.uart.rxSpace()).toBe(0);
    u.outb(UART_FCR, FIFO_ON); // enabling flushes the receiver
    expect(u.uart.rxSpace()).toBe(UART_FIFO_SIZE);
    expect(u.uart.enqueueInput(new Uint8Array(20).fill(0x2a))).toBe(UART_FIFO_SIZE);
    expect(u.uart.enqueueInput(bytes('z'))).toBe(0);
    expect(u.inb(UART_LSR) & UART_LSR_OE).toBe(0); // refused input is not an overrun
    u.inb(UART_RBR);
    expect(u.uart.rxSpace()).toBe(1);
  });

  it('calls onRxDrained once per refusal, when the guest empties the FIFO', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.uart.enqueueInput(new Uint8Array(16));
    drain(u);
    expect(u.drained.count).toBe(0); // nothing was refused
    u.uart.enqueueInput(new Uint8Array(17));
    for (let i = 0; i < 15; i++) u.inb(UART_RBR);
    expect(u.drained.count).toBe(0); // not empty yet
    u.inb(UART_RBR);
    expect(u.drained.count).toBe(1);
    u.inb(UART_RBR);
    expect(u.drained.count).toBe(1);
  });

  it('calls onRxDrained when a refused host gets room from an FCR flush', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.uart.enqueueInput(new Uint8Array(17));
    u.outb(UART_FCR, FIFO_ON | UART_FCR_CLEAR_RCVR);
    expect(u.drained.count).toBe(1);
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(0);
  });

  it('refuses host input in loopback and calls onRxDrained when loopback ends', () => {
    const u = uartHarness();
    u.outb(UART_MCR, UART_MCR_LOOP);
    expect(u.uart.rxSpace()).toBe(0);
    expect(u.uart.enqueueInput(bytes('k'))).toBe(0);
    u.outb(UART_MCR, 0);
    expect(u.drained.count).toBe(1);
    expect(u.uart.enqueueInput(bytes('k'))).toBe(1);
  });

  it('onRxDrained may refill synchronously from inside the RBR read', () => {
    let pending = bytes('0123456789abcdefXYZ');
    const u = uartHarness(() => {
      pending = pending.subarray(u.uart.enqueueInput(pending));
    });
    u.outb(UART_FCR, FIFO_ON);
    pending = pending.subarray(u.uart.enqueueInput(pending));
    expect(String.fromCharCode(...drain(u))).toBe('0123456789abcdefXYZ');
  });
});

describe('Serial16550a FIFO trigger levels', () => {
  it.each([
    [0, 1],
    [1, 4],
    [2, 8],
    [3, 14],
  ] as const)('FCR trigger %i: received data available from %i bytes, character timeout below', (code, level) => {
    const u = uartHarness();
    u.outb(UART_FCR, trigger(code));
    u.outb(UART_IER, UART_IER_RDI);
    if (level > 1) {
      u.uart.enqueueInput(new Uint8Array(level - 1));
      expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | UART_IIR_CTI);
      expect(u.irq.high).toBe(true);
    }
    u.uart.enqueueInput(new Uint8Array(1));
    expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | UART_IIR_RDI);
    u.inb(UART_RBR);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | (level > 1 ? UART_IIR_CTI : UART_IIR_NO_INT));
    drain(u);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
    expect(u.irq.high).toBe(false);
  });

  it('without FIFOs one byte is received data available (no timeout) and IIR bits 6-7 are clear', () => {
    const u = uartHarness();
    u.outb(UART_IER, UART_IER_RDI);
    u.uart.enqueueInput(bytes('q'));
    expect(u.inb(UART_IIR)).toBe(UART_IIR_RDI);
  });

  it('turning FIFOs off flushes the receiver and clears IIR bits 6-7', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.uart.enqueueInput(bytes('abc'));
    u.outb(UART_FCR, 0);
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(0);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_NO_INT);
  });
});

describe('Serial16550a loopback and overrun', () => {
  it('loopback routes THR to RBR instead of the output', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.outb(UART_MCR, UART_MCR_LOOP);
    u.outb(UART_THR, 0x55);
    expect(u.output).toEqual([]);
    expect(u.inb(UART_LSR) & UART_LSR_DR).toBe(UART_LSR_DR);
    expect(u.inb(UART_RBR)).toBe(0x55);
  });

  it('a full FIFO keeps its bytes, loses the new one and sets OE until LSR is read', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.outb(UART_MCR, UART_MCR_LOOP);
    for (let i = 0; i < 17; i++) u.outb(UART_THR, i);
    const lsr = u.inb(UART_LSR);
    expect(lsr & (UART_LSR_OE | UART_LSR_DR)).toBe(UART_LSR_OE | UART_LSR_DR);
    expect(u.inb(UART_LSR) & UART_LSR_OE).toBe(0);
    expect(drain(u)).toEqual([...Array(16).keys()]);
  });

  it('without FIFOs a second byte overwrites RBR and sets OE', () => {
    const u = uartHarness();
    u.outb(UART_MCR, UART_MCR_LOOP);
    u.outb(UART_THR, 1);
    u.outb(UART_THR, 2);
    expect(u.inb(UART_LSR) & UART_LSR_OE).toBe(UART_LSR_OE);
    expect(u.inb(UART_RBR)).toBe(2);
  });

  it.each([
    [UART_MCR_DTR, UART_MSR_DSR],
    [UART_MCR_RTS, UART_MSR_CTS],
    [UART_MCR_OUT1, UART_MSR_RI],
    [UART_MCR_OUT2, UART_MSR_DCD],
  ])('in loopback MCR bit %i drives MSR bit %i', (mcrBit, msrBit) => {
    const u = uartHarness();
    u.outb(UART_MCR, UART_MCR_LOOP | mcrBit);
    expect(u.inb(UART_MSR) & 0xf0).toBe(msrBit);
    expect(u.inb(UART_MCR)).toBe(UART_MCR_LOOP | mcrBit);
  });

  it('MSR deltas record line changes and clear when MSR is read', () => {
    const u = uartHarness();
    u.outb(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1); // DCD, DSR, CTS drop; RI rises
    expect(u.inb(UART_MSR)).toBe(UART_MSR_RI | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
    expect(u.inb(UART_MSR)).toBe(UART_MSR_RI);
    u.outb(UART_MCR, UART_MCR_LOOP); // RI falls: trailing edge
    expect(u.inb(UART_MSR)).toBe(UART_MSR_TERI);
  });

  it('MCR bits 5-7 and IER bits 4-7 read as 0', () => {
    const u = uartHarness();
    u.outb(UART_MCR, 0xff);
    expect(u.inb(UART_MCR)).toBe(0x1f);
    u.outb(UART_MCR, 0);
    u.outb(UART_IER, 0xff);
    expect(u.inb(UART_IER)).toBe(0x0f);
  });
});

describe('Serial16550a interrupt priorities and the IRQ line', () => {
  it('reports line status > received data > THR empty > modem status, each cleared at its source', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.outb(UART_MCR, UART_MCR_LOOP);
    for (let i = 0; i < 17; i++) u.outb(UART_THR, i); // overrun, FIFO full, THR empty
    u.outb(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS); // a modem status change
    u.outb(UART_IER, UART_IER_RLSI | UART_IER_RDI | UART_IER_THRI | UART_IER_MSI);
    const iir = (): number => u.inb(UART_IIR) & ~UART_IIR_FIFO_ENABLED;

    expect(iir()).toBe(UART_IIR_RLSI);
    u.inb(UART_LSR);
    expect(iir()).toBe(UART_IIR_RDI);
    drain(u);
    expect(iir()).toBe(UART_IIR_THRI);
    expect(iir()).toBe(UART_IIR_MSI); // the IIR read cleared THR empty
    expect(u.irq.high).toBe(true);
    u.inb(UART_MSR);
    expect(iir()).toBe(UART_IIR_NO_INT);
    expect(u.irq.high).toBe(false);
  });

  it('character timeout ranks below a line status interrupt', () => {
    const u = uartHarness();
    u.outb(UART_FCR, trigger(3));
    u.outb(UART_MCR, UART_MCR_LOOP);
    u.outb(UART_IER, UART_IER_RLSI | UART_IER_RDI);
    u.outb(UART_THR, 1); // one byte: below trigger 14
    expect(u.inb(UART_IIR) & 0x0f).toBe(UART_IIR_CTI);
  });

  it('keeps the line low for pending causes whose IER bit is off, and follows IER changes', () => {
    const u = uartHarness();
    u.outb(UART_FCR, FIFO_ON);
    u.uart.enqueueInput(bytes('data'));
    expect(u.irq.high).toBe(false);
    expect(u.inb(UART_IIR)).toBe(UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
    u.outb(UART_IER, UART_IER_RDI);
    expect(u.irq.high).toBe(true);
    u.outb(UART_IER, 0);
    expect(u.irq.high).toBe(false);
    expect(u.irq.rises).toBe(1);
    expect(u.irq.calls).toBe(2); // the line is driven only on changes
  });

  it('MCR OUT2 does not gate the line', () => {
    const u = uartHarness();
    u.outb(UART_MCR, 0);
    u.outb(UART_IER, UART_IER_THRI);
    expect(u.irq.high).toBe(true);
  });
});

describe('Serial16550a access widths and reset', () => {
  it('a wide access acts on consecutive registers, low byte first', () => {
    const irq = new CountingIrqLine();
    const uart = new Serial16550a({ irq, output: () => undefined });
    uart.write(UART_MSR, 2, 0x5a00); // MSR ignores the write, SCR takes the high byte
    expect(uart.read(UART_SCR, 1)).toBe(0x5a);
    expect(uart.read(UART_MCR, 2)).toBe((UART_LSR_THRE | UART_LSR_TEMT) << 8); // MCR, then LSR
    uart.write(UART_LCR, 1, 0x03);
    const lcrToMsr = (0x03 | ((UART_LSR_THRE | UART_LSR_TEMT) << 16) | (0xb0 << 24)) >>> 0;
    expect(uart.read(UART_LCR, 4)).toBe(lcrToMsr); // unsigned, though MSR's top bit is set
  });

  it('scratch holds any byte', () => {
    const u = uartHarness();
    for (const v of [0x00, 0x55, 0xaa, 0xff]) {
      u.outb(UART_SCR, v);
      expect(u.inb(UART_SCR)).toBe(v);
    }
  });

  it('reset returns to power-on state and lowers the line', () => {
    const u = uartHarness();
    u.outb(UART_LCR, UART_LCR_DLAB);
    u.outb(UART_DLL, 3);
    u.outb(UART_LCR, 0x03);
    u.outb(UART_FCR, FIFO_ON);
    u.outb(UART_IER, UART_IER_RDI);
    u.outb(UART_SCR, 0x42);
    u.uart.enqueueInput(bytes('abc'));
    expect(u.irq.high).toBe(true);
    u.uart.reset();
    expect(u.irq.high).toBe(false);
    expect(u.uart.divisor).toBe(UART_RESET_DIVISOR);
    expect([UART_IER, UART_IIR, UART_LCR, UART_MCR, UART_LSR, UART_SCR].map((r) => u.inb(r))).toEqual([
      0,
      UART_IIR_NO_INT,
      0,
      0,
      UART_LSR_THRE | UART_LSR_TEMT,
      0,
    ]);
  });
});
