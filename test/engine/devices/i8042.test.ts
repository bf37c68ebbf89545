import { describe, expect, it } from 'vitest';
import { Bus } from '../../../engine/src/bus';
import { I8042, I8042_COMMAND_PORT, I8042_DATA_PORT } from '../../../engine/src/devices';
import { CountingIrqLine } from '../../../engine/src/irq';

/** Status bits as a driver tests them. */
const OBF = 0x01;
const IBF = 0x02;
const SYS = 0x04;
const AUXDATA = 0x20;

function controller() {
  const bus = new Bus('pio');
  const warnings: string[] = [];
  let resets = 0;
  const irq = new CountingIrqLine();
  const i8042 = new I8042({ onReset: () => resets++, kbdIrq: irq, logger: { warn: (_o, msg) => warnings.push(msg) } });
  bus.insert(I8042_DATA_PORT, 1, i8042.dataPort, 'i8042-data');
  bus.insert(I8042_COMMAND_PORT, 1, i8042.commandPort, 'i8042-cmd');
  const status = () => bus.read(I8042_COMMAND_PORT, 1);
  const command = (c: number) => bus.write(I8042_COMMAND_PORT, 1, c);
  const data = () => bus.read(I8042_DATA_PORT, 1);
  const send = (d: number) => bus.write(I8042_DATA_PORT, 1, d);
  return { i8042, bus, status, command, data, send, warnings, irq, resets: () => resets };
}

describe('i8042', () => {
  it('reads as an idle controller after reset: nothing to read, input buffer empty, system flag set', () => {
    const { status } = controller();
    expect(status() & (OBF | IBF)).toBe(0);
    expect(status() & SYS).toBe(SYS);
  });

  it('command 0xFE pulses the reset line: onReset once per pulse', () => {
    const { command, resets } = controller();
    command(0xfe);
    expect(resets()).toBe(1);
    command(0xfe);
    expect(resets()).toBe(2);
    command(0xff); // pulses no line
    expect(resets()).toBe(2);
  });

  it('writing the output port with the reset line low resets too', () => {
    const { command, send, data, resets } = controller();
    command(0xd0);
    expect(data() & 1).toBe(1);
    command(0xd1);
    send(0x02);
    expect(resets()).toBe(1);
  });

  it("answers Linux's probe: CTR read and write, self-test 0x55, port tests 0", () => {
    const { status, command, data, send } = controller();
    command(0x20);
    expect(status() & OBF).toBe(OBF);
    const ctr = data();
    expect(status() & OBF).toBe(0);
    command(0x60);
    send(ctr & ~0x01);
    command(0x20);
    expect(data()).toBe(ctr & ~0x01);
    command(0xaa);
    expect(data()).toBe(0x55);
    command(0xab);
    expect(data()).toBe(0x00);
    command(0xa9);
    expect(data()).toBe(0x00);
  });

  it('loops bytes back as keyboard or aux data (0xD2, 0xD3)', () => {
    const { status, command, data, send } = controller();
    command(0xd3);
    send(0x5a);
    expect(status() & (OBF | AUXDATA)).toBe(OBF | AUXDATA);
    expect(data()).toBe(0x5a);
    command(0xd2);
    send(0xa5);
    expect(status() & (OBF | AUXDATA)).toBe(OBF);
    expect(data()).toBe(0xa5);
  });

  it('the keyboard acknowledges commands; reset adds its self-test pass, identify its id', () => {
    const { data, send } = controller();
    send(0xff);
    expect([data(), data()]).toEqual([0xfa, 0xaa]);
    send(0xf2);
    expect([data(), data(), data()]).toEqual([0xfa, 0xab, 0x83]);
    send(0xf4);
    expect(data()).toBe(0xfa);
  });

  it('raises IRQ 1 while keyboard data waits and the CTR enables it', () => {
    const { command, data, irq, send } = controller();
    send(0xf4);
    expect(irq.high).toBe(true);
    data();
    expect(irq.high).toBe(false);
    command(0x60);
    send(0x00); // keyboard interrupt off
    send(0xf4);
    expect(irq.high).toBe(false);
  });

  it('logs an unknown command once, ignores it and keeps working', () => {
    const { command, data, warnings, status } = controller();
    command(0xc5);
    command(0xc5);
    expect(warnings).toHaveLength(1);
    expect(status() & OBF).toBe(0);
    command(0xaa);
    expect(data()).toBe(0x55);
  });

  it('survives a guest that never reads: bounded buffer, one warning', () => {
    const { send, warnings, data, status } = controller();
    for (let i = 0; i < 10_000; i++) send(0xf4);
    expect(warnings).toHaveLength(1);
    let n = 0;
    while ((status() & OBF) !== 0 && n < 100) {
      data();
      n++;
    }
    expect(n).toBe(16);
    expect(data()).toBe(0xfa); // an empty buffer reads the last byte again
  });

  it('reset() empties the buffer and restores the CTR', () => {
    const { i8042, command, send, status, data } = controller();
    command(0x60);
    send(0);
    send(0xf4);
    i8042.reset();
    expect(status() & OBF).toBe(0);
    command(0x20);
    expect(data()).toBe(0x45);
  });
});

describe('i8042 under a hostile guest', () => {
  it('survives random register traffic: never throws, and the log stays bounded', () => {
    const { bus, warnings, resets } = controller();
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 100_000; i++) {
      const port = random() & 1 ? I8042_COMMAND_PORT : I8042_DATA_PORT;
      if (random() & 1) expect(bus.read(port, 1)).toBeLessThanOrEqual(0xff);
      else bus.write(port, 1, random() & 0xff);
    }
    expect(resets()).toBeGreaterThan(0); // random pulse commands do reach the reset line
    expect(warnings.length).toBeLessThan(300); // one per distinct unknown command, plus overflow episodes
  });
});
