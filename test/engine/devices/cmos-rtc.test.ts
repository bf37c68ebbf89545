import { describe, expect, it } from 'vitest';
import { Bus } from '../../../engine/src/bus';
import { CMOS_INDEX_PORT, CMOS_LEN, CmosRtc } from '../../../engine/src/devices';
import { GiB, MiB } from '../../../engine/src/platform/layout';

/** 2026-11-25 (a Wednesday) 04:05:06.700 UTC. */
const HOST_NOW = Date.UTC(2026, 10, 25, 4, 5, 6, 700);
const bcd = (v: number) => parseInt(String(v), 16);

function rtc(options: { lowMemoryBytes?: number; highMemoryBytes?: number; vcpus?: number } = {}) {
  let now = HOST_NOW;
  const warnings: string[] = [];
  const device = new CmosRtc({ lowMemoryBytes: 64 * MiB, now: () => now, logger: { warn: (_o, msg) => warnings.push(msg) }, ...options });
  const bus = new Bus('pio');
  bus.insert(CMOS_INDEX_PORT, CMOS_LEN, device.device, 'cmos');
  const read = (index: number) => {
    bus.write(CMOS_INDEX_PORT, 1, index);
    return bus.read(CMOS_INDEX_PORT + 1, 1);
  };
  const write = (index: number, value: number) => {
    bus.write(CMOS_INDEX_PORT, 1, index);
    bus.write(CMOS_INDEX_PORT + 1, 1, value);
  };
  return { device, read, write, warnings, advance: (ms: number) => (now += ms) };
}

describe('CMOS RTC', () => {
  it('reads the host clock in BCD, 24-hour mode by default', () => {
    const { read } = rtc();
    expect([read(0x00), read(0x02), read(0x04)]).toEqual([bcd(6), bcd(5), bcd(4)]);
    expect([read(0x07), read(0x08), read(0x09), read(0x32)]).toEqual([bcd(25), bcd(11), bcd(26), bcd(20)]);
    expect(read(0x06)).toBe(4); // Wednesday: 1 = Sunday
  });

  it('reads binary when status B sets DM, and 12-hour with the PM bit when it clears 24h', () => {
    const { read, write, advance } = rtc();
    write(0x0b, 0x06); // binary, 24h
    expect([read(0x00), read(0x07), read(0x09)]).toEqual([6, 25, 26]);
    write(0x0b, 0x04); // binary, 12h
    advance(12 * 3600 * 1000); // 16:05
    expect(read(0x04)).toBe(0x80 | 4);
  });

  it('status A shows no update in progress, C no interrupt flags, D valid time', () => {
    const { read } = rtc();
    expect(read(0x0a) & 0x80).toBe(0);
    expect(read(0x0c)).toBe(0);
    expect(read(0x0d)).toBe(0x80);
  });

  it('takes a word write to the index port as index then data, like two byte writes', () => {
    const { read, device } = rtc();
    device.device.write(0, 2, 0x5a40);
    expect(read(0x40)).toBe(0x5a);
  });

  it('ignores the NMI-disable bit of the index port', () => {
    const { read } = rtc();
    expect(read(0x80 | 0x09)).toBe(bcd(26));
  });

  it('keeps a written time as an offset that ticks on with the host clock', () => {
    const { read, write, advance, device } = rtc();
    write(0x0b, 0x82); // SET while writing, as guests do
    write(0x04, bcd(23));
    write(0x02, bcd(59));
    write(0x00, bcd(50));
    write(0x09, bcd(99));
    write(0x0b, 0x02);
    expect([read(0x04), read(0x02), read(0x00), read(0x09), read(0x32)]).toEqual([bcd(23), bcd(59), bcd(50), bcd(99), bcd(20)]);
    advance(10_000);
    expect([read(0x04), read(0x02), read(0x00)]).toEqual([bcd(0), bcd(0), bcd(0)]);
    expect([read(0x07), read(0x08), read(0x09)]).toEqual([bcd(26), bcd(11), bcd(99)]);
    expect(new Date(device.guestTimeMs()).toISOString()).toBe('2099-11-26T00:00:00.700Z');
  });

  it('logs and ignores invalid BCD and out-of-range writes', () => {
    const { read, write, warnings } = rtc();
    write(0x00, 0x7a);
    write(0x08, bcd(13));
    expect(read(0x00)).toBe(bcd(6));
    expect(read(0x08)).toBe(bcd(11));
    expect(warnings).toHaveLength(2);
  });

  it("reports memory sizes in QEMU's NVRAM bytes for firmware-style probes", () => {
    const { read } = rtc({ lowMemoryBytes: 3 * GiB, highMemoryBytes: 5 * GiB, vcpus: 4 });
    expect(read(0x15) | (read(0x16) << 8)).toBe(640);
    expect(read(0x17) | (read(0x18) << 8)).toBe(0xffff);
    expect(read(0x34) | (read(0x35) << 8)).toBe((3 * GiB - 16 * MiB) / 65536);
    expect(read(0x5b) | (read(0x5c) << 8) | (read(0x5d) << 16)).toBe((5 * GiB) / 65536);
    expect(read(0x5f)).toBe(3);
    const small = rtc({ lowMemoryBytes: 32 * MiB });
    expect(small.read(0x34) | (small.read(0x35) << 8)).toBe((16 * MiB) / 65536);
    expect(small.read(0x17) | (small.read(0x18) << 8)).toBe(31 * 1024);
  });

  it('keeps other NVRAM bytes the guest writes, and reset restores the defaults', () => {
    const { read, write, device } = rtc();
    write(0x40, 0x5a);
    expect(read(0x40)).toBe(0x5a);
    device.reset();
    expect(read(0x40)).toBe(0);
    expect(read(0x0b)).toBe(0x02);
  });
});

describe('CMOS RTC under a hostile guest', () => {
  it('survives random index and data traffic of every width: never throws, bounded log, reads stay bytes', () => {
    const { device, warnings } = rtc();
    let seed = 99;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 100_000; i++) {
      const offset = random() & 1;
      const size = offset === 0 && random() & 1 ? 2 : 1;
      if (random() & 1) expect(device.device.read(offset, size)).toBeLessThan(2 ** (8 * size));
      else device.device.write(offset, size, random() & 0xffff);
    }
    expect(warnings.length).toBeLessThanOrEqual(8);
    expect(Number.isFinite(device.guestTimeMs())).toBe(true);
  });
});
