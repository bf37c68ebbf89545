import { describe, expect, it } from 'vitest';
import { Bus } from '../../../engine/src/bus';
import { PVPANIC_LEN, PVPANIC_PORT, Pvpanic } from '../../../engine/src/devices';

function device() {
  const bus = new Bus('pio');
  const warnings: string[] = [];
  let panics = 0;
  bus.insert(PVPANIC_PORT, PVPANIC_LEN, new Pvpanic({ onPanic: () => panics++, logger: { warn: (_o, msg) => warnings.push(msg) } }), 'pvpanic');
  return { bus, warnings, panics: () => panics };
}

describe('pvpanic', () => {
  it('reads the supported events: PANICKED (bit 0) and CRASH_LOADED (bit 1)', () => {
    const { bus } = device();
    expect(bus.read(PVPANIC_PORT, 1)).toBe(0b11);
  });

  it('a write with bit 0 reports a panic', () => {
    const { bus, panics } = device();
    bus.write(PVPANIC_PORT, 1, 1);
    expect(panics()).toBe(1);
  });

  it('a write with bit 1 only is logged as a loaded crash kernel, not a panic', () => {
    const { bus, panics, warnings } = device();
    bus.write(PVPANIC_PORT, 1, 2);
    expect(panics()).toBe(0);
    expect(warnings.join('\n')).toMatch(/crash kernel/);
  });

  it('reserved bits are logged a bounded number of times and do not panic', () => {
    const { bus, panics, warnings } = device();
    for (let i = 0; i < 1000; i++) bus.write(PVPANIC_PORT, 1, 0xf0);
    expect(panics()).toBe(0);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(4);
    bus.write(PVPANIC_PORT, 1, 0xf1); // garbage with the panic bit still panics
    expect(panics()).toBe(1);
  });
});
