import { describe, expect, it } from 'vitest';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC } from '../../../../engine/src/virtio/constants';
import {
  createSplitQueue,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  type SplitQueueOptions,
} from '../../../../engine/src/virtio/queue';
import { DriverHarness } from '../driver-harness';

function setup(size = 8, options: SplitQueueOptions = {}) {
  const h = new DriverHarness(1 << 20);
  const driver = h.queue(size);
  let brokenCalls = 0;
  const queue = createSplitQueue(h.memory, driver.layout, h.logger, { ...options, onBroken: () => brokenCalls++ });
  return { h, driver, queue, brokenCalls: () => brokenCalls };
}

describe('split virtqueue: well-formed chains', () => {
  it('hands the device a chain as readable then writable bytes and gives the driver its used entry', () => {
    const { h, driver, queue } = setup();
    const head = driver.add([
      { len: 3, data: Uint8Array.of(1, 2, 3) },
      { len: 2, data: Uint8Array.of(4, 5) },
      { len: 4, write: true },
      { len: 4, write: true },
    ]);
    const chain = queue.pop()!;
    expect(chain.head).toBe(head);
    expect(chain.readableLength).toBe(5);
    expect(chain.writableLength).toBe(8);
    expect(Array.from(chain.readBytes(1, 3))).toEqual([2, 3, 4]);
    expect(chain.writeBytes(2, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9))).toBe(6);
    const [, , w0, w1] = driver.buffers.get(head)!;
    expect(Array.from(h.bytes(w0, 4))).toEqual([0, 0, 9, 9]);
    expect(Array.from(h.bytes(w1, 4))).toEqual([9, 9, 9, 9]);
    expect(queue.pop()).toBeUndefined();

    queue.pushUsed(chain.head, 6);
    expect(driver.takeUsed()).toEqual([{ id: head, len: 6 }]);
    expect(queue.needsInterrupt()).toBe(true);
    expect(queue.needsInterrupt()).toBe(false); // nothing new since
  });

  it('follows indirect tables when VIRTIO_F_INDIRECT_DESC was negotiated', () => {
    const { driver, queue } = setup(8, { features: VIRTIO_F_INDIRECT_DESC });
    const head = driver.add(
      [{ len: 2, data: Uint8Array.of(7, 8) }, { len: 16, write: true }, { len: 16, write: true }],
      { indirect: true },
    );
    const chain = queue.pop()!;
    expect(chain.head).toBe(head);
    expect(Array.from(chain.readBytes(0, 2))).toEqual([7, 8]);
    expect(chain.writableLength).toBe(32);
  });

  it('serves heads in order across the 16-bit index wrap', () => {
    const { h, driver, queue } = setup(4);
    const buffer = h.alloc(1);
    let mismatches = 0;
    for (let i = 0; i < 70_000; i += 1) {
      const head = driver.add([{ len: 1, write: true, addr: buffer }]);
      const chain = queue.pop()!;
      queue.pushUsed(chain.head, 1);
      const used = driver.takeUsed();
      if (chain.head !== head || used.length !== 1 || used[0].id !== head) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(queue.lastAvailIdx).toBe(70_000 & 0xffff);
    expect(queue.usedIdx).toBe(70_000 & 0xffff);
  });
});

describe('split virtqueue: malformed chains are logged, returned with length 0 and skipped', () => {
  function expectSkipped(h: DriverHarness, driver: ReturnType<typeof setup>['driver'], queue: ReturnType<typeof setup>['queue'], head: number, reason: RegExp) {
    // A good chain behind the bad one is still served.
    const good = driver.add([{ len: 4, write: true }]);
    expect(queue.pop()?.head).toBe(good);
    expect(driver.takeUsed()).toEqual([{ id: head, len: 0 }]);
    expect(h.warnings.join('\n')).toMatch(reason);
    expect(queue.broken).toBe(false);
  }

  it('cuts a descriptor loop off at the queue size', () => {
    const { h, driver, queue } = setup(8);
    const buf = h.alloc(16);
    driver.writeDescriptor(driver.layout.descTable, 5, buf, 16, VIRTQ_DESC_F_NEXT, 6);
    driver.writeDescriptor(driver.layout.descTable, 6, buf, 16, VIRTQ_DESC_F_NEXT, 5);
    driver.publish(5);
    expectSkipped(h, driver, queue, 5, /loop/);
  });

  it('refuses a next index beyond the table', () => {
    const { h, driver, queue } = setup(8);
    driver.writeDescriptor(driver.layout.descTable, 3, h.alloc(8), 8, VIRTQ_DESC_F_NEXT, 200);
    driver.publish(3);
    expectSkipped(h, driver, queue, 3, /next index 200/);
  });

  it('refuses buffers outside guest RAM, across its end, and at addresses beyond 2^53', () => {
    for (const [addr, len] of [[0x20_0000, 4], [(1 << 20) - 2, 4], [2n ** 63n, 1], [0x1000, 0xffff_ffff]] as const) {
      const { h, driver, queue } = setup(8);
      driver.writeDescriptor(driver.layout.descTable, 7, addr, len, VIRTQ_DESC_F_WRITE, 0);
      driver.publish(7);
      expectSkipped(h, driver, queue, 7, /not inside guest RAM/);
    }
  });

  it('refuses a device-readable buffer after a device-writable one', () => {
    const { h, driver, queue } = setup(8);
    const head = driver.add([{ len: 4, write: true }, { len: 4 }]);
    expectSkipped(h, driver, queue, head, /readable buffer after a device-writable/);
  });

  it('refuses indirect descriptors not negotiated, nested, with NEXT, of a bad length, or longer than the queue', () => {
    const cases: [SplitQueueOptions, (d: ReturnType<typeof setup>) => number, RegExp][] = [
      [{}, (s) => s.driver.add([{ len: 4, write: true }], { indirect: true }), /without VIRTIO_F_INDIRECT_DESC/],
      [
        { features: VIRTIO_F_INDIRECT_DESC },
        (s) => {
          const inner = s.h.alloc(16);
          const outer = s.h.alloc(16);
          s.driver.writeDescriptor(outer, 0, inner, 16, VIRTQ_DESC_F_INDIRECT, 0);
          s.driver.writeDescriptor(s.driver.layout.descTable, 1, outer, 16, VIRTQ_DESC_F_INDIRECT, 0);
          s.driver.publish(1);
          return 1;
        },
        /inside an indirect table/,
      ],
      [
        { features: VIRTIO_F_INDIRECT_DESC },
        (s) => {
          s.driver.writeDescriptor(s.driver.layout.descTable, 1, s.h.alloc(16), 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 2);
          s.driver.publish(1);
          return 1;
        },
        /with NEXT/,
      ],
      [
        { features: VIRTIO_F_INDIRECT_DESC },
        (s) => {
          s.driver.writeDescriptor(s.driver.layout.descTable, 1, s.h.alloc(24), 24, VIRTQ_DESC_F_INDIRECT, 0);
          s.driver.publish(1);
          return 1;
        },
        /not a multiple of 16/,
      ],
      [
        { features: VIRTIO_F_INDIRECT_DESC },
        (s) => {
          // A table of 10^6 descriptors: never walked, refused by its length alone.
          s.driver.writeDescriptor(s.driver.layout.descTable, 1, 0x1000, 16 * 1_000_000, VIRTQ_DESC_F_INDIRECT, 0);
          s.driver.publish(1);
          return 1;
        },
        /1000000 descriptors exceeds the queue size/,
      ],
    ];
    for (const [options, make, reason] of cases) {
      const s = setup(8, options);
      const head = make(s);
      expectSkipped(s.h, s.driver, s.queue, head, reason);
    }
  });

  it('refuses a chain whose writable length overflows 32 bits', () => {
    const h = new DriverHarness(4 << 20);
    const driver = h.queue(2048);
    const queue = createSplitQueue(h.memory, driver.layout, h.logger);
    // 1500 descriptors each naming the same 3 MiB of RAM: 4.4 GiB in total.
    for (let i = 0; i < 1500; i++) {
      driver.writeDescriptor(driver.layout.descTable, i, 0x10_0000, 3 << 20, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, i + 1);
    }
    driver.publish(0);
    expect(queue.pop()).toBeUndefined();
    expect(h.warnings.join('\n')).toMatch(/overflows 32 bits/);
  });
});

describe('split virtqueue: corruption breaks the queue until reset', () => {
  it('marks the queue broken when avail.idx jumps by more than the queue size', () => {
    const { h, driver, queue, brokenCalls } = setup(8);
    driver.add([{ len: 4, write: true }]);
    driver.setAvailIdx(100);
    expect(queue.pop()).toBeUndefined();
    expect(queue.broken).toBe(true);
    expect(brokenCalls()).toBe(1);
    expect(h.warnings.join('\n')).toMatch(/avail\.idx 100 is 100 ahead/);
    queue.pushUsed(0, 1); // ignored: nothing is written into a corrupt ring
    expect(driver.usedIdx()).toBe(0);
  });

  it('marks the queue broken for a head index beyond the queue size', () => {
    const { driver, queue } = setup(8);
    driver.publish(9);
    expect(queue.pop()).toBeUndefined();
    expect(queue.broken).toBe(true);
  });

  it('is broken from the start when its rings are outside RAM or misaligned', () => {
    const h = new DriverHarness(1 << 20);
    const bad = [
      { size: 8, descTable: 0xff_ff00, availRing: 0x2000, usedRing: 0x3000 },
      { size: 8, descTable: 0x1008, availRing: 0x2000, usedRing: 0x3000 },
      { size: 6, descTable: 0x1000, availRing: 0x2000, usedRing: 0x3000 },
    ];
    for (const layout of bad) {
      const queue = createSplitQueue(h.memory, layout, h.logger);
      expect(queue.broken).toBe(true);
      expect(queue.pop()).toBeUndefined();
    }
  });
});

describe('split virtqueue: interrupt suppression', () => {
  it('honours VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX', () => {
    const { driver, queue } = setup();
    driver.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    driver.add([{ len: 1, write: true }]);
    queue.pushUsed(queue.pop()!.head, 1);
    expect(queue.needsInterrupt()).toBe(false);
  });

  it('with EVENT_IDX interrupts only when used.idx passes used_event, and publishes avail_event', () => {
    const { driver, queue } = setup(8, { features: VIRTIO_F_EVENT_IDX });
    driver.setUsedEvent(2); // interrupt me when the third entry is used
    for (let i = 0; i < 3; i++) driver.add([{ len: 1, write: true }]);
    const heads = [queue.pop()!, queue.pop()!, queue.pop()!].map((c) => c.head);
    expect(driver.availEvent()).toBe(3);
    queue.pushUsed(heads[0], 1);
    expect(queue.needsInterrupt()).toBe(false);
    queue.pushUsed(heads[1], 1);
    expect(queue.needsInterrupt()).toBe(false);
    queue.pushUsed(heads[2], 1);
    expect(queue.needsInterrupt()).toBe(true);
  });
});
