import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VIRTIO_ID_NET } from '../../../../engine/src/virtio/constants';
import {
  createLinkPair,
  NET_CONFIG_MAC,
  NET_CONFIG_STATUS,
  NET_MAX_FRAME,
  NET_RX_BACKLOG,
  NET_RECEIVEQ,
  NET_TRANSMITQ,
  VIRTIO_NET_HDR_SIZE,
  VIRTIO_NET_S_LINK_UP,
  VirtioNet,
} from '../../../../engine/src/virtio/net';
import { DriverHarness } from '../driver-harness';

/** Two guests' NICs on one virtual cable, each with its own RAM and driver. */
function cable() {
  const [endA, endB] = createLinkPair();
  const side = (backend: typeof endA, mac: number[]) => {
    const h = new DriverHarness();
    const nic = new VirtioNet({ backend, mac: Uint8Array.from(mac), logger: h.logger });
    const rx = h.queue(16);
    const tx = h.queue(16);
    h.activate(nic, [rx, tx]);
    return { h, nic, rx, tx };
  };
  return { a: side(endA, [2, 0, 0, 0, 0, 0xa]), b: side(endB, [2, 0, 0, 0, 0, 0xb]) };
}

function frame(payload: string): Uint8Array {
  const dst = [2, 0, 0, 0, 0, 0xb];
  const src = [2, 0, 0, 0, 0, 0xa];
  return Uint8Array.from([...dst, ...src, 0x88, 0xb5, ...Buffer.from(payload)]);
}

describe('virtio-net', () => {
  it('shows its MAC and link status in config', () => {
    const { a } = cable();
    expect(a.nic.deviceType).toBe(VIRTIO_ID_NET);
    expect(Array.from({ length: 6 }, (_, i) => a.nic.readConfig(NET_CONFIG_MAC + i, 1))).toEqual([2, 0, 0, 0, 0, 0xa]);
    expect(a.nic.readConfig(NET_CONFIG_STATUS, 2)).toBe(VIRTIO_NET_S_LINK_UP);
  });

  it('carries a frame one guest transmits into the other guest\'s receive buffer, header first', async () => {
    const { a, b } = cable();
    const rxHead = b.rx.add([{ len: VIRTIO_NET_HDR_SIZE + 1514, write: true }]);
    b.nic.notify(NET_RECEIVEQ);
    const f = frame('hello over virtio-net');
    const txHead = a.tx.add([{ len: VIRTIO_NET_HDR_SIZE, data: new Uint8Array(VIRTIO_NET_HDR_SIZE) }, { len: f.length, data: f }]);
    a.nic.notify(NET_TRANSMITQ);
    expect(a.tx.takeUsed()).toEqual([{ id: txHead, len: 0 }]);
    await tick();
    expect(b.rx.takeUsed()).toEqual([{ id: rxHead, len: VIRTIO_NET_HDR_SIZE + f.length }]);
    const got = b.h.bytes(b.rx.buffers.get(rxHead)![0], VIRTIO_NET_HDR_SIZE + f.length);
    expect(Array.from(got.subarray(0, VIRTIO_NET_HDR_SIZE))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]); // num_buffers = 1
    expect(got.subarray(VIRTIO_NET_HDR_SIZE)).toEqual(f);
    expect(b.h.interrupt.used).toEqual([NET_RECEIVEQ]);
    expect([a.nic.stats.txFrames, b.nic.stats.rxFrames]).toEqual([1, 1]);
  });

  it('holds frames until the guest posts receive buffers, and drops ones too big for the buffer', async () => {
    const { a, b } = cable();
    for (const text of ['one', 'two']) {
      const f = frame(text);
      a.tx.add([{ len: VIRTIO_NET_HDR_SIZE + f.length, data: new Uint8Array([...new Uint8Array(VIRTIO_NET_HDR_SIZE), ...f]) }]);
    }
    a.nic.notify(NET_TRANSMITQ);
    await tick();
    await tick();
    const small = b.rx.add([{ len: 20, write: true }]);
    const big = b.rx.add([{ len: 2048, write: true }]);
    b.nic.notify(NET_RECEIVEQ);
    expect(b.rx.takeUsed()).toEqual([{ id: small, len: 0 }, { id: big, len: VIRTIO_NET_HDR_SIZE + frame('two').length }]);
    expect(b.nic.stats.rxDropped).toBe(1);
  });

  it('refuses transmit chains shorter than an Ethernet header', () => {
    const { a } = cable();
    const head = a.tx.add([{ len: VIRTIO_NET_HDR_SIZE + 4, data: new Uint8Array(16) }]);
    a.nic.notify(NET_TRANSMITQ);
    expect(a.tx.takeUsed()).toEqual([{ id: head, len: 0 }]);
    expect(a.nic.stats.txErrors).toBe(1);
  });

  it('a guest that posts no receive buffers: frames beyond the backlog are dropped and counted, the rest delivered later', async () => {
    const [host, guestEnd] = createLinkPair();
    const h = new DriverHarness();
    const nic = new VirtioNet({ backend: guestEnd, logger: h.logger });
    const rx = h.queue(16);
    h.activate(nic, [rx, h.queue(16)]);
    for (let i = 0; i < 1000; i++) host.send(frame(`flood ${i}`));
    await tick();
    expect(nic.stats).toMatchObject({ rxFrames: 0, rxDropped: 1000 - NET_RX_BACKLOG });
    expect(h.warnings.some((w) => w.includes('receive backlog full'))).toBe(true);
    const heads = Array.from({ length: 8 }, () => rx.add([{ len: VIRTIO_NET_HDR_SIZE + 1514, write: true }]));
    nic.notify(NET_RECEIVEQ);
    const used = rx.takeUsed();
    expect(used.map((u) => u.id)).toEqual(heads);
    const first = h.bytes(rx.buffers.get(heads[0])![0] + VIRTIO_NET_HDR_SIZE, used[0].len - VIRTIO_NET_HDR_SIZE);
    expect(Buffer.from(first).equals(Buffer.from(frame('flood 0')))).toBe(true); // oldest first
    expect(nic.stats.rxFrames).toBe(8);
  });

  it('refuses a transmit chain longer than any frame, and keeps transmitting good ones after it', async () => {
    const [host, guestEnd] = createLinkPair();
    const got: Uint8Array[] = [];
    host.onReceive((f) => got.push(f));
    const h = new DriverHarness();
    const nic = new VirtioNet({ backend: guestEnd, logger: h.logger });
    const tx = h.queue(16);
    h.activate(nic, [h.queue(16), tx]);
    const huge = tx.add([{ len: VIRTIO_NET_HDR_SIZE, data: new Uint8Array(VIRTIO_NET_HDR_SIZE) }, { len: NET_MAX_FRAME + 1 }]);
    const good = frame('after the bad one');
    const ok = tx.add([{ len: VIRTIO_NET_HDR_SIZE + good.length, data: Uint8Array.from([...new Uint8Array(VIRTIO_NET_HDR_SIZE), ...good]) }]);
    nic.notify(NET_TRANSMITQ);
    expect(tx.takeUsed()).toEqual([{ id: huge, len: 0 }, { id: ok, len: 0 }]);
    await tick();
    expect(got).toEqual([good]);
    expect(nic.stats).toMatchObject({ txErrors: 1, txFrames: 1 });
  });
});
