import { describe, expect, it } from 'vitest';
import { Bus } from '../../../engine/src/bus';
import { DEBUG_EXIT_LEN, DEBUG_EXIT_PORT, DebugExit } from '../../../engine/src/devices';

function platform() {
  const statuses: number[] = [];
  const bus = new Bus('pio');
  const device = new DebugExit({ onExit: (status) => statuses.push(status) });
  bus.insert(DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, device, 'debug-exit');
  return { bus, statuses };
}

describe('DebugExit', () => {
  it('exits with (v << 1) | 1 for 1-, 2- and 4-byte writes', () => {
    const { bus, statuses } = platform();
    bus.write(DEBUG_EXIT_PORT, 4, 0x10);
    bus.write(DEBUG_EXIT_PORT, 1, 0);
    bus.write(DEBUG_EXIT_PORT, 2, 0x1234);
    expect(statuses).toEqual([0x21, 1, 0x2469]);
  });

  it('keeps the full status of a 32-bit value, beyond 32 bits', () => {
    const { bus, statuses } = platform();
    bus.write(DEBUG_EXIT_PORT, 4, 0xffff_ffff);
    expect(statuses).toEqual([0x1_ffff_ffff]);
  });

  it('uses only the bytes the access writes', () => {
    const { bus, statuses } = platform();
    bus.write(DEBUG_EXIT_PORT, 1, 0x1ff);
    expect(statuses).toEqual([0x1ff]);
  });

  it('ignores the offset within its range, like QEMU', () => {
    const { bus, statuses } = platform();
    bus.write(DEBUG_EXIT_PORT + 3, 1, 2);
    expect(statuses).toEqual([5]);
  });

  it('reads 0, as QEMU does, and reading never exits', () => {
    const { bus, statuses } = platform();
    expect(bus.read(DEBUG_EXIT_PORT, 4)).toBe(0);
    expect(bus.read(DEBUG_EXIT_PORT + 1, 1)).toBe(0);
    expect(statuses).toEqual([]);
  });
});
