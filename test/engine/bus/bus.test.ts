import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Bus, type BusDevice, type WarnLogger } from '../../../engine/src/bus';

/** Records every access it gets and answers reads with a value derived from the offset. */
class RecordingDevice implements BusDevice {
  readonly accesses: string[] = [];
  constructor(private readonly tag = 0) {}
  read(offset: number, size: number): number {
    this.accesses.push(`r${offset}/${size}`);
    return this.tag + offset;
  }
  write(offset: number, size: number, value: number): void {
    this.accesses.push(`w${offset}/${size}=${value.toString(16)}`);
  }
}

/** A 4-byte register bank, to check how 8-byte accesses are split. */
class RegisterBank implements BusDevice {
  readonly regs = new Map<number, number>();
  readonly order: number[] = [];
  read(offset: number): number {
    this.order.push(offset);
    return this.regs.get(offset) ?? 0;
  }
  write(offset: number, _size: number, value: number): void {
    this.order.push(offset);
    this.regs.set(offset, value);
  }
}

describe('Bus dispatch', () => {
  it('routes accesses to the device containing the address, with offsets relative to its base', () => {
    const bus = new Bus('pio');
    const com1 = new RecordingDevice(0x100);
    const pm = new RecordingDevice(0x200);
    bus.insert(0x3f8, 8, com1, 'com1');
    bus.insert(0x600, 4, pm, 'pm1a-evt');

    expect(bus.read(0x3f8, 1)).toBe(0x100);
    expect(bus.read(0x3ff, 1)).toBe(0x107);
    expect(bus.read(0x602, 2)).toBe(0x202);
    bus.write(0x3fc, 1, 0xab);
    bus.write(0x600, 4, 0xdeadbeef);

    expect(com1.accesses).toEqual(['r0/1', 'r7/1', 'w4/1=ab']);
    expect(pm.accesses).toEqual(['r2/2', 'w0/4=deadbeef']);
  });

  it('alternating between devices never serves one device from another cached range', () => {
    const bus = new Bus('pio');
    const a = new RecordingDevice(0x1000);
    const b = new RecordingDevice(0x2000);
    bus.insert(0x10, 0x10, a, 'a');
    bus.insert(0x20, 0x10, b, 'b'); // adjacent: a's last address + 1 is b's first
    for (let i = 0; i < 3; i++) {
      expect(bus.read(0x1f, 1)).toBe(0x100f);
      expect(bus.read(0x20, 1)).toBe(0x2000);
    }
    expect(bus.read(0x0f, 1)).toBe(0xff);
    expect(bus.read(0x30, 1)).toBe(0xff);
  });

  it('finds the right device among many (binary search against a linear scan)', () => {
    const bus = new Bus('mmio');
    const ranges: { base: number; length: number; tag: number }[] = [];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 0x80000000;
      return seed % n;
    };
    let base = 0xd000_0000;
    for (let i = 0; i < 200; i++) {
      base += random(0x300); // gaps of 0 (adjacent) or more
      const length = 1 + random(0x200);
      ranges.push({ base, length, tag: i << 16 });
      bus.insert(base, length, new RecordingDevice(i << 16), `dev${i}`);
      base += length;
    }
    for (let i = 0; i < 5000; i++) {
      const address = 0xd000_0000 - 0x100 + random(base - 0xd000_0000 + 0x200);
      const hit = ranges.find((r) => address >= r.base && address < r.base + r.length);
      expect(bus.read(address, 1)).toBe(hit ? hit.tag + (address - hit.base) : 0xff);
    }
  });

  it('handles addresses above 4 GiB exactly', () => {
    const bus = new Bus('mmio');
    const dev = new RecordingDevice();
    bus.insert(0x80_0000_0000, 0x1000, dev, 'bar');
    expect(bus.read(0x80_0000_0ffc, 4)).toBe(0xffc);
    expect(bus.read(0x80_0000_0000 - 4, 4)).toBe(0xffffffff);
    expect(dev.accesses).toEqual(['r4092/4']);
  });
});

describe('Bus unclaimed and straddling accesses', () => {
  it('reads all-ones of the access size where nothing is mapped and drops writes', () => {
    const bus = new Bus('pio');
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
    bus.write(0x80, 1, 0);
    expect(bus.badAccessStats()).toEqual({ unclaimedReads: 3, unclaimedWrites: 1, straddling: 0 });
  });

  it('treats an access running past the end of a device as unclaimed and never calls the device', () => {
    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger: WarnLogger = { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) };
    const bus = new Bus('pio', logger);
    const com1 = new RecordingDevice();
    bus.insert(0x3f8, 8, com1, 'com1');

    expect(bus.read(0x3fe, 4)).toBe(0xffffffff);
    bus.write(0x3ff, 2, 0x1234);
    expect(bus.read(0x3fe, 2)).toBe(6); // fits exactly: claimed
    expect(com1.accesses).toEqual(['r6/2']);
    expect(bus.badAccessStats()).toEqual({ unclaimedReads: 1, unclaimedWrites: 1, straddling: 2 });
    expect(warnings[0]?.msg).toBe(
      'pio: 4-byte read at 0x3fe straddles the end of "com1" [0x3f8-0x3ff]: reads all-ones',
    );
    expect(warnings[1]?.obj).toMatchObject({
      bus: 'pio',
      access: 'write',
      address: '0x3ff',
      value: '0x1234',
      device: 'com1',
    });
  });

  it('an access starting just below a device does not reach it', () => {
    const bus = new Bus('pio');
    const dev = new RecordingDevice();
    bus.insert(0x3f8, 8, dev, 'com1');
    expect(bus.read(0x3f6, 4)).toBe(0xffffffff);
    expect(dev.accesses).toEqual([]);
  });
});

describe('Bus 8-byte accesses', () => {
  it('splits a write into two 4-byte writes, low half first', () => {
    const bus = new Bus('mmio');
    const bank = new RegisterBank();
    bus.insert(0x1000, 0x10, bank, 'bank');
    bus.write(0x1000, 8, 0x1_2345_6789_abcd);
    expect(bank.order).toEqual([0, 4]);
    expect(bank.regs.get(0)).toBe(0x6789_abcd);
    expect(bank.regs.get(4)).toBe(0x1_2345);
  });

  it('splits a read into two 4-byte reads, low half first, and combines them', () => {
    const bus = new Bus('mmio');
    const bank = new RegisterBank();
    bus.insert(0x1000, 0x10, bank, 'bank');
    bank.regs.set(8, 0x89ab_cdef);
    bank.regs.set(12, 0x001f_ffff);
    expect(bus.read(0x1008, 8)).toBe(0x1f_ffff_89ab_cdef);
    expect(bank.order).toEqual([8, 12]);
  });

  it('read64/write64 keep full 64-bit values exact as halves', () => {
    const bus = new Bus('mmio');
    const bank = new RegisterBank();
    bus.insert(0x1000, 0x10, bank, 'bank');
    bus.write64(0x1000, 0xffff_fffe, 0xffff_ffff);
    const out = new Uint32Array(2);
    bus.read64(0x1000, out);
    expect([...out]).toEqual([0xffff_fffe, 0xffff_ffff]);
    bus.read64(0x2000, out);
    expect([...out]).toEqual([0xffff_ffff, 0xffff_ffff]);
  });

  it('an 8-byte access whose high half leaves the device reads all-ones for that half only', () => {
    const bus = new Bus('mmio');
    const bank = new RegisterBank();
    bus.insert(0x1000, 4, bank, 'reg');
    bank.regs.set(0, 0x1234);
    const out = new Uint32Array(2);
    bus.read64(0x1000, out);
    expect([...out]).toEqual([0x1234, 0xffff_ffff]);
  });

  it('rejects sizes an accelerator never produces', () => {
    const bus = new Bus('pio');
    bus.insert(0, 0x10, new RecordingDevice(), 'dev');
    bus.read(0, 1); // warm the last-hit cache: the size check must not depend on it
    expect(() => bus.read(0, 3)).toThrow(/pio: unsupported 3-byte read at 0x0/);
    expect(() => bus.write(0, 16, 0)).toThrow(RangeError);
    expect(() => bus.read(0, 0)).toThrow(RangeError);
  });
});

describe('Bus insert and remove', () => {
  it('rejects overlapping ranges naming both devices and ranges', () => {
    const bus = new Bus('pio');
    bus.insert(0x3f8, 8, new RecordingDevice(), 'com1');
    expect(() => bus.insert(0x3fc, 8, new RecordingDevice(), 'late')).toThrow(
      'pio: cannot insert "late" at [0x3fc-0x403]: overlaps "com1" at [0x3f8-0x3ff]',
    );
    expect(() => bus.insert(0x3f0, 9, new RecordingDevice(), 'early')).toThrow(
      /"early" at \[0x3f0-0x3f8\]: overlaps "com1"/,
    );
    expect(() => bus.insert(0x300, 0x200, new RecordingDevice(), 'around')).toThrow(/overlaps "com1"/);
    expect(() => bus.insert(0x3fa, 1, new RecordingDevice(), 'inside')).toThrow(/overlaps "com1"/);
    expect(() => bus.insert(0x3f8, 8, new RecordingDevice(), 'same')).toThrow(/overlaps "com1"/);
    bus.insert(0x3f0, 8, new RecordingDevice(), 'below');
    bus.insert(0x400, 1, new RecordingDevice(), 'above');
    expect(bus.entries().map((e) => e.name)).toEqual(['below', 'com1', 'above']);
  });

  it('rejects empty, negative and non-integer ranges', () => {
    const bus = new Bus('mmio');
    const dev = new RecordingDevice();
    expect(() => bus.insert(0x1000, 0, dev, 'empty')).toThrow(/"empty" at 0x1000: length 0 is not a positive integer/);
    expect(() => bus.insert(0x1000, -4, dev, 'negative')).toThrow(RangeError);
    expect(() => bus.insert(-1, 4, dev, 'below-zero')).toThrow(/base -1 is not a non-negative integer/);
    expect(() => bus.insert(0.5, 4, dev, 'fraction')).toThrow(RangeError);
    expect(() => bus.insert(2 ** 53 - 2, 4, dev, 'huge')).toThrow(/exceeds 2\^53/);
    expect(bus.entries()).toEqual([]);
  });

  it('remove unmaps by base, returns the entry, and the cached device stops answering', () => {
    const bus = new Bus('pio');
    const dev = new RecordingDevice(0x40);
    bus.insert(0x70, 2, dev, 'rtc');
    expect(bus.read(0x70, 1)).toBe(0x40); // now the last hit
    const removed = bus.remove(0x70);
    expect(removed).toEqual({ base: 0x70, length: 2, name: 'rtc', device: dev });
    expect(bus.read(0x70, 1)).toBe(0xff);
    expect(dev.accesses).toEqual(['r0/1']);
    expect(() => bus.remove(0x70)).toThrow('pio: cannot remove: no device starts at 0x70');
    bus.insert(0x70, 2, new RecordingDevice(0x80), 'rtc2'); // the range is free again
    expect(bus.read(0x71, 1)).toBe(0x81);
  });

  it('entries() lists mappings in address order and is a copy', () => {
    const bus = new Bus('pio');
    const a = new RecordingDevice();
    bus.insert(0x600, 4, a, 'b');
    bus.insert(0xf4, 4, a, 'a');
    const list = bus.entries();
    expect(list.map((e) => [e.base, e.length, e.name])).toEqual([
      [0xf4, 4, 'a'],
      [0x600, 4, 'b'],
    ]);
    list.pop();
    expect(bus.entries()).toHaveLength(2);
    expect(bus.find(0x603)?.name).toBe('b');
    expect(bus.find(0x604)).toBeUndefined();
  });

  it('accepts a pino logger as its logger', () => {
    const logger: WarnLogger = pino({ level: 'silent' });
    const bus = new Bus('pio', logger);
    expect(bus.read(0x80, 1)).toBe(0xff);
  });
});
