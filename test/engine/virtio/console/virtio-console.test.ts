import { describe, expect, it } from 'vitest';
import {
  CONSOLE_CONFIG_COLS,
  CONSOLE_CONFIG_EMERG_WR,
  CONSOLE_CONFIG_ROWS,
  CONSOLE_MAX_PENDING_INPUT,
  CONSOLE_RECEIVEQ,
  CONSOLE_TRANSMITQ,
  VirtioConsole,
} from '../../../../engine/src/virtio/console';
import { VIRTIO_ID_CONSOLE } from '../../../../engine/src/virtio/constants';
import { DriverHarness } from '../driver-harness';

function setup() {
  const h = new DriverHarness();
  const output: number[] = [];
  const drained = { count: 0 };
  const con = new VirtioConsole({ output: (b) => output.push(...b), cols: 132, rows: 43, logger: h.logger, onInputDrained: () => drained.count++ });
  const rx = h.queue(16);
  const tx = h.queue(16);
  h.activate(con, [rx, tx]);
  const text = () => Buffer.from(output).toString('latin1');
  return { h, con, rx, tx, text, drained };
}

describe('virtio-console', () => {
  it('passes what the guest transmits to the host stream, in order, across buffers', () => {
    const { con, tx, text, h } = setup();
    expect(con.deviceType).toBe(VIRTIO_ID_CONSOLE);
    const a = tx.add([{ len: 6, data: Buffer.from('hello ') }]);
    const b = tx.add([{ len: 3, data: Buffer.from('wor') }, { len: 3, data: Buffer.from('ld\n') }]);
    con.notify(CONSOLE_TRANSMITQ);
    expect(text()).toBe('hello world\n');
    expect(tx.takeUsed()).toEqual([{ id: a, len: 0 }, { id: b, len: 0 }]);
    expect(h.interrupt.used).toEqual([CONSOLE_TRANSMITQ]);
  });

  it('holds host input until the guest posts receive buffers, then fills them', () => {
    const { h, con, rx } = setup();
    con.receive(Buffer.from('abc'));
    con.receive(Buffer.from('defgh'));
    expect(con.pendingInput).toBe(8);
    const r1 = rx.add([{ len: 5, write: true }]);
    const r2 = rx.add([{ len: 16, write: true }]);
    con.notify(CONSOLE_RECEIVEQ);
    expect(rx.takeUsed()).toEqual([{ id: r1, len: 5 }, { id: r2, len: 3 }]);
    expect(Buffer.from(h.bytes(rx.buffers.get(r1)![0], 5)).toString()).toBe('abcde');
    expect(Buffer.from(h.bytes(rx.buffers.get(r2)![0], 3)).toString()).toBe('fgh');
    expect(con.pendingInput).toBe(0);
    // With a buffer already posted, input goes straight in.
    const r3 = rx.add([{ len: 4, write: true }]);
    con.notify(CONSOLE_RECEIVEQ);
    con.receive(Buffer.from('xy'));
    expect(rx.takeUsed()).toEqual([{ id: r3, len: 2 }]);
  });

  it('bounds input the guest never reads, and counts what it drops', () => {
    const { con } = setup();
    con.receive(new Uint8Array(CONSOLE_MAX_PENDING_INPUT - 10));
    con.receive(new Uint8Array(30));
    expect(con.pendingInput).toBe(CONSOLE_MAX_PENDING_INPUT);
    expect(con.droppedInput).toBe(20);
  });

  it('offers backpressure: offerInput takes what fits, drops nothing, and says when the guest made room', () => {
    const { con, rx, drained } = setup();
    expect(con.offerInput(new Uint8Array(CONSOLE_MAX_PENDING_INPUT - 10))).toBe(CONSOLE_MAX_PENDING_INPUT - 10);
    expect(con.offerInput(new Uint8Array(30))).toBe(10);
    expect(con.offerInput(new Uint8Array(5))).toBe(0);
    expect(con.droppedInput).toBe(0);
    expect(drained.count).toBe(0);
    rx.add([{ len: 100, write: true }]);
    con.notify(CONSOLE_RECEIVEQ);
    expect(drained.count).toBe(1);
    expect(con.offerInput(new Uint8Array(200))).toBe(100);
  });

  it('shows its size in config and prints emergency writes', () => {
    const { con, text } = setup();
    expect(con.readConfig(CONSOLE_CONFIG_COLS, 2)).toBe(132);
    expect(con.readConfig(CONSOLE_CONFIG_ROWS, 2)).toBe(43);
    con.writeConfig(CONSOLE_CONFIG_EMERG_WR, 4, 0x21);
    expect(text()).toBe('!');
  });
});
