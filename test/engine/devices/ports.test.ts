import { describe, expect, it } from 'vitest';
import { Bus, type BusDevice } from '../../../engine/src/bus';
import {
  COM1_BASE,
  COM1_IRQ,
  COM1_LEN,
  DEBUG_EXIT_LEN,
  DEBUG_EXIT_PORT,
  PM1A_CNT,
  PM1A_CNT_LEN,
  PM1A_EVT,
  PM1A_EVT_LEN,
  SCI_IRQ,
} from '../../../engine/src/devices';

const dummy: BusDevice = { read: () => 0, write: () => undefined };

describe('platform port map', () => {
  it('places every fixed device without overlap inside the 16-bit port space', () => {
    const bus = new Bus('pio');
    const map: [number, number, string][] = [
      [COM1_BASE, COM1_LEN, 'com1'],
      [PM1A_EVT, PM1A_EVT_LEN, 'pm1a-evt'],
      [PM1A_CNT, PM1A_CNT_LEN, 'pm1a-cnt'],
      [DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, 'debug-exit'],
    ];
    for (const [base, length, name] of map) bus.insert(base, length, dummy, name);
    for (const entry of bus.entries()) expect(entry.base + entry.length).toBeLessThanOrEqual(0x10000);
    expect(bus.entries().map((e) => e.name)).toEqual(['debug-exit', 'com1', 'pm1a-evt', 'pm1a-cnt']);
  });

  it('uses the PC interrupt numbers guests expect', () => {
    expect([COM1_IRQ, SCI_IRQ]).toEqual([4, 9]);
  });
});
