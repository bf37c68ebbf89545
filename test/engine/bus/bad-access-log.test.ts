import { describe, expect, it } from 'vitest';
import {
  BadAccessLog,
  Bus,
  MAX_TRACKED_ADDRESSES,
  REPORTS_PER_ADDRESS,
  type WarnLogger,
} from '../../../engine/src/bus';

function capture(): { logger: WarnLogger; lines: { obj: Record<string, unknown>; msg: string }[] } {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, logger: { warn: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) } };
}

describe('BadAccessLog rate limiting', () => {
  it('logs the first accesses at an address one by one, then summaries at powers of two', () => {
    const { logger, lines } = capture();
    const bus = new Bus('pio', logger);
    for (let i = 0; i < 1000; i++) bus.read(0x80, 1);

    const single = lines.filter((l) => l.obj.access === 'read');
    expect(single).toHaveLength(REPORTS_PER_ADDRESS);
    expect(single[0]?.msg).toBe('pio: 1-byte read at 0x80 is unclaimed: reads all-ones');
    expect(single[REPORTS_PER_ADDRESS - 1]?.msg).toMatch(/further ones at 0x80 only summarized/);
    const summaries = lines.filter((l) => l.obj.count !== undefined).map((l) => l.obj.count);
    expect(summaries).toEqual([8, 16, 32, 64, 128, 256, 512]);
    expect(lines.at(-1)?.msg).toBe('pio: 512 bad accesses at 0x80 so far');
    expect(bus.badAccessStats().unclaimedReads).toBe(1000);
  });

  it('counts each address separately, and writes log the value', () => {
    const { logger, lines } = capture();
    const log = new BadAccessLog('mmio', logger);
    log.report(true, 0x1000, 4, 0xcafe);
    log.report(false, 0x2000, 2, 0);
    log.report(true, 0x1000, 4, 0xbeef);
    expect(lines.map((l) => l.msg)).toEqual([
      'mmio: 4-byte write at 0x1000 is unclaimed: ignored',
      'mmio: 2-byte read at 0x2000 is unclaimed: reads all-ones',
      'mmio: 4-byte write at 0x1000 is unclaimed: ignored',
    ]);
    expect(lines[2]?.obj).toEqual({ bus: 'mmio', access: 'write', address: '0x1000', size: 4, value: '0xbeef' });
  });

  it('keeps log lines bounded when a guest probes every address', () => {
    const { logger, lines } = capture();
    const log = new BadAccessLog('pio', logger);
    for (let port = 0; port < 0x10000; port++) log.report(false, port, 1, 0);
    // One line per tracked address; the rest share one bucket with the per-address limits.
    const untracked = 0x10000 - MAX_TRACKED_ADDRESSES;
    const bucketSummaries = Math.floor(Math.log2(untracked)) - Math.log2(2 * REPORTS_PER_ADDRESS) + 1;
    expect(lines).toHaveLength(MAX_TRACKED_ADDRESSES + REPORTS_PER_ADDRESS + bucketSummaries);
    expect(lines.length).toBeLessThan(300);
    expect(lines.at(-1)?.msg).toMatch(/pio: \d+ bad accesses at untracked addresses \(over 256\) so far/);
    expect(log.stats().unclaimedReads).toBe(0x10000);
  });
});
