import { describe, expect, it } from 'vitest';
import { VIRTIO_ID_RNG } from '../../../../engine/src/virtio/constants';
import { RNG_MAX_BYTES_PER_REQUEST, VirtioRng } from '../../../../engine/src/virtio/rng';
import { DriverHarness } from '../driver-harness';

function setup() {
  const h = new DriverHarness();
  const rng = new VirtioRng({ logger: h.logger });
  const q = h.queue(rng.queueMaxSizes[0]);
  h.activate(rng, [q]);
  return { h, rng, q };
}

describe('virtio-rng', () => {
  it('fills device-writable buffers with bytes that differ between requests and are not constant', () => {
    const { h, rng, q } = setup();
    expect(rng.deviceType).toBe(VIRTIO_ID_RNG);
    const a = q.add([{ len: 64, write: true }]);
    const b = q.add([{ len: 32, write: true }, { len: 32, write: true }]);
    rng.notify(0);
    expect(q.takeUsed()).toEqual([{ id: a, len: 64 }, { id: b, len: 64 }]);
    const bytesA = h.bytes(q.buffers.get(a)![0], 64);
    const [b0, b1] = q.buffers.get(b)!;
    const bytesB = new Uint8Array([...h.bytes(b0, 32), ...h.bytes(b1, 32)]);
    expect(new Set(bytesA).size).toBeGreaterThan(16);
    expect(bytesA).not.toEqual(bytesB);
    expect(h.interrupt.used).toEqual([0]); // one interrupt for the batch
  });

  it('caps what one request gets and uses a request without writable buffers with length 0', () => {
    const { h, rng, q } = setup();
    const big = q.add([{ len: 200 * 1024, write: true }]);
    const none = q.add([{ len: 8, data: new Uint8Array(8) }]);
    rng.notify(0);
    expect(q.takeUsed()).toEqual([{ id: big, len: RNG_MAX_BYTES_PER_REQUEST }, { id: none, len: 0 }]);
    expect(h.warnings.join('\n')).toMatch(/no device-writable buffer/);
  });
});
