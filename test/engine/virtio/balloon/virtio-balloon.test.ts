import { describe, expect, it } from 'vitest';
import {
  BALLOON_CONFIG_ACTUAL,
  BALLOON_CONFIG_NUM_PAGES,
  BALLOON_DEFLATEQ,
  BALLOON_INFLATEQ,
  BALLOON_MAX_FRAMES_PER_CHAIN,
  BALLOON_STATSQ,
  VIRTIO_BALLOON_F_DEFLATE_ON_OOM,
  VIRTIO_BALLOON_F_STATS_VQ,
  VirtioBalloon,
} from '../../../../engine/src/virtio/balloon';
import { VIRTIO_ID_BALLOON } from '../../../../engine/src/virtio/constants';
import { DriverHarness } from '../driver-harness';

const RAM = 4 << 20;

function pfns(...frames: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * frames.length);
  frames.forEach((f, i) => new DataView(bytes.buffer).setUint32(4 * i, f, true));
  return bytes;
}

function stats(records: [number, bigint][]): Uint8Array {
  const bytes = new Uint8Array(10 * records.length);
  const v = new DataView(bytes.buffer);
  records.forEach(([tag, value], i) => {
    v.setUint16(10 * i, tag, true);
    v.setBigUint64(10 * i + 2, value, true);
  });
  return bytes;
}

function setup() {
  const h = new DriverHarness(RAM);
  const actuals: number[] = [];
  const balloon = new VirtioBalloon({ logger: h.logger, statsQueue: true, onActualChanged: (p) => actuals.push(p) });
  const [inflate, deflate, statsq] = [h.queue(8), h.queue(8), h.queue(8)];
  h.activate(balloon, [inflate, deflate, statsq]);
  return { h, balloon, inflate, deflate, statsq, actuals };
}

describe('virtio-balloon', () => {
  it('asks the guest for a size through config and a config interrupt; reads back what the driver reports', () => {
    const { h, balloon, actuals } = setup();
    expect(balloon.deviceType).toBe(VIRTIO_ID_BALLOON);
    balloon.setTarget(256);
    expect(balloon.readConfig(BALLOON_CONFIG_NUM_PAGES, 4)).toBe(256);
    expect(h.interrupt.config).toBe(1);
    balloon.writeConfig(BALLOON_CONFIG_ACTUAL, 4, 200);
    expect(balloon.actual).toBe(200);
    expect(actuals).toEqual([200]);
    balloon.writeConfig(BALLOON_CONFIG_NUM_PAGES, 4, 1); // the driver cannot change the target
    expect(balloon.target).toBe(256);
  });

  it('counts pages inflated and deflated, ignoring (and logging) frames outside guest RAM', () => {
    const { h, balloon, inflate, deflate } = setup();
    const a = inflate.add([{ len: 16, data: pfns(10, 11, 12, RAM / 4096 + 5) }]);
    balloon.notify(BALLOON_INFLATEQ);
    expect(inflate.takeUsed()).toEqual([{ id: a, len: 0 }]);
    expect(balloon.inflatedPages).toBe(3);
    expect(h.warnings.join('\n')).toMatch(/frame 1029 is not a page of guest RAM/);
    deflate.add([{ len: 4, data: pfns(11) }]);
    balloon.notify(BALLOON_DEFLATEQ);
    expect(balloon.inflatedPages).toBe(2);
    expect(h.interrupt.used).toEqual([BALLOON_INFLATEQ, BALLOON_DEFLATEQ]);
  });

  it('offers the stats queue and DEFLATE_ON_OOM only when the domain asks for them', () => {
    const plain = new VirtioBalloon();
    expect(plain.deviceFeatures & (VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_DEFLATE_ON_OOM)).toBe(0n);
    expect(plain.queueMaxSizes).toHaveLength(2);
    const full = new VirtioBalloon({ statsQueue: true, deflateOnOom: true });
    expect(full.deviceFeatures & VIRTIO_BALLOON_F_STATS_VQ).toBe(VIRTIO_BALLOON_F_STATS_VQ);
    expect(full.deviceFeatures & VIRTIO_BALLOON_F_DEFLATE_ON_OOM).toBe(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    expect(full.queueMaxSizes).toHaveLength(3);
  });

  it('gives inflated pages back to the host (they read as zero) and leaves every other page alone', () => {
    const { h, balloon, inflate, deflate } = setup();
    const page = (pfn: number) => pfn * 4096;
    for (const pfn of [100, 101, 102, 200, 300]) h.ram.fill(page(pfn), 4096, 0x5a);
    inflate.add([{ len: 16, data: pfns(100, 101, 102, 101) }]); // a repeated frame counts once
    balloon.notify(BALLOON_INFLATEQ);
    expect(balloon.inflatedPages).toBe(3);
    for (const pfn of [100, 101, 102]) expect(h.bytes(page(pfn), 4096).every((b) => b === 0)).toBe(true);
    for (const pfn of [200, 300]) expect(h.bytes(page(pfn), 4096).every((b) => b === 0x5a)).toBe(true);
    // Deflated pages are the guest's again: writable, nothing else discarded.
    deflate.add([{ len: 4, data: pfns(101) }]);
    balloon.notify(BALLOON_DEFLATEQ);
    h.ram.fill(page(101), 4096, 0x77);
    expect(h.bytes(page(101), 1)[0]).toBe(0x77);
    expect(h.bytes(page(200), 1)[0]).toBe(0x5a);
  });

  it('takes at most BALLOON_MAX_FRAMES_PER_CHAIN frames from one chain and logs the rest', () => {
    const { h, balloon, inflate } = setup();
    const count = BALLOON_MAX_FRAMES_PER_CHAIN + 1000;
    // Every frame names page 900 (in RAM): only the cap's worth is read.
    const list = pfns(...new Array<number>(count).fill(900));
    inflate.add([{ len: list.length, data: list }]);
    balloon.notify(BALLOON_INFLATEQ);
    expect(inflate.takeUsed()).toHaveLength(1);
    expect(balloon.inflatedPages).toBe(1);
    expect(h.warnings.join('\n')).toMatch(new RegExp(`names ${count} frames; only the first ${BALLOON_MAX_FRAMES_PER_CHAIN}`));
  });

  it('keeps the stats buffer, returns it when the host asks, and reads the refilled one', async () => {
    const { balloon, statsq } = setup();
    const first = statsq.add([{ len: 20, data: stats([[4, 1000n], [5, 4000n]]) }]);
    balloon.notify(BALLOON_STATSQ);
    expect(balloon.stats).toEqual({ free_memory: 1000n, total_memory: 4000n });
    expect(statsq.takeUsed()).toEqual([]); // held by the device
    const fresh = balloon.requestStats()!;
    expect(statsq.takeUsed()).toEqual([{ id: first, len: 0 }]);
    statsq.add([{ len: 20, data: stats([[4, 900n], [99, 7n]]) }]);
    balloon.notify(BALLOON_STATSQ);
    expect(await fresh).toEqual({ free_memory: 900n, tag_99: 7n });
    expect(balloon.statsTime).toBeInstanceOf(Date);
  });
});
