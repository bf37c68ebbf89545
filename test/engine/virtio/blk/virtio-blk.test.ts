import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BLK_CONFIG_BLK_SIZE,
  BLK_CONFIG_SEG_MAX,
  RawFileBackend,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
} from '../../../../engine/src/virtio/blk';
import { VIRTIO_F_VERSION_1, VIRTIO_ID_BLOCK } from '../../../../engine/src/virtio/constants';
import { DriverHarness, type DriverQueue } from '../driver-harness';

const SECTORS = 64;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-blk-'));
const opened: RawFileBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Sector s of the image holds bytes (s * 7 + i) & 0xff: any misplaced sector shows. */
function sectorBytes(s: number): Uint8Array {
  return Uint8Array.from({ length: 512 }, (_, i) => (s * 7 + i) & 0xff);
}

let images = 0;
function makeImage(): string {
  const file = path.join(dir, `disk-${++images}.img`);
  const bytes = new Uint8Array(SECTORS * 512);
  for (let s = 0; s < SECTORS; s++) bytes.set(sectorBytes(s), s * 512);
  fs.writeFileSync(file, bytes);
  return file;
}

function header(type: number, sector: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, type, true);
  v.setBigUint64(8, BigInt(sector), true);
  return bytes;
}

async function device(options: { readOnly?: boolean; serial?: string } = {}) {
  const file = makeImage();
  const backend = await RawFileBackend.open(file, { readOnly: options.readOnly });
  opened.push(backend);
  const h = new DriverHarness();
  const blk = new VirtioBlk({ backend, serial: options.serial, logger: h.logger });
  const q = h.queue(blk.queueMaxSizes[0]);
  h.activate(blk, [q]);
  return { file, backend, h, blk, q };
}

/** Submits a request chain: header, then OUT data / IN buffers, then the status byte. Returns head and status address. */
function submit(q: DriverQueue, type: number, sector: number, parts: { out?: Uint8Array; inLens?: number[] } = {}, indirect = false) {
  const buffers = [{ len: 16, data: header(type, sector) }];
  if (parts.out) buffers.push({ len: parts.out.length, data: parts.out });
  for (const len of parts.inLens ?? []) buffers.push({ len, write: true } as never);
  buffers.push({ len: 1, write: true } as never);
  const head = q.add(buffers, { indirect });
  const addrs = q.buffers.get(head)!;
  return { head, status: addrs[addrs.length - 1], data: addrs.slice(1, -1) };
}

async function run(blk: VirtioBlk): Promise<void> {
  blk.notify(0);
  await blk.idle();
}

describe('virtio-blk', () => {
  it('describes the disk in its config space and features', async () => {
    const { blk } = await device();
    expect(blk.deviceType).toBe(VIRTIO_ID_BLOCK);
    expect(blk.readConfig(0, 4)).toBe(SECTORS);
    expect(blk.readConfig(4, 4)).toBe(0);
    expect(blk.readConfig(BLK_CONFIG_SEG_MAX, 4)).toBe(254);
    expect(blk.readConfig(BLK_CONFIG_BLK_SIZE, 4)).toBe(512);
    expect(blk.readConfig(0x1000, 4)).toBe(0); // past the end: zeros, no exception
    expect(blk.deviceFeatures & VIRTIO_F_VERSION_1).toBe(VIRTIO_F_VERSION_1);
    expect(blk.deviceFeatures & VIRTIO_BLK_F_FLUSH).toBe(VIRTIO_BLK_F_FLUSH);
    expect(blk.deviceFeatures & VIRTIO_BLK_F_RO).toBe(0n);
  });

  it('reads known sectors into buffers split anywhere, reports the length written and interrupts', async () => {
    const { h, blk, q } = await device();
    const req = submit(q, VIRTIO_BLK_T_IN, 3, { inLens: [700, 324] });
    blk.notify(0);
    expect(q.usedIdx()).toBe(0); // the read is asynchronous: notify returned before the disk answered
    await blk.idle();
    const got = new Uint8Array([...h.bytes(req.data[0], 700), ...h.bytes(req.data[1], 324)]);
    expect(got).toEqual(new Uint8Array([...sectorBytes(3), ...sectorBytes(4)]));
    expect(h.bytes(req.status, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    expect(q.takeUsed()).toEqual([{ id: req.head, len: 1025 }]);
    expect(h.interrupt.used).toEqual([0]);
  });

  it('writes land in the file, and FLUSH completes after them', async () => {
    const { file, h, blk, q } = await device();
    const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 13) & 0xff);
    const w = submit(q, VIRTIO_BLK_T_OUT, 10, { out: data });
    await run(blk);
    const f = submit(q, VIRTIO_BLK_T_FLUSH, 0);
    await run(blk);
    expect(h.bytes(w.status, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    expect(h.bytes(f.status, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    expect(q.takeUsed()).toEqual([{ id: w.head, len: 1 }, { id: f.head, len: 1 }]);
    const onDisk = fs.readFileSync(file);
    expect(new Uint8Array(onDisk.subarray(10 * 512, 12 * 512))).toEqual(data);
    expect(new Uint8Array(onDisk.subarray(9 * 512, 10 * 512))).toEqual(sectorBytes(9)); // neighbours untouched
    expect(new Uint8Array(onDisk.subarray(12 * 512, 13 * 512))).toEqual(sectorBytes(12));
  });

  it('answers GET_ID with the serial, NUL-padded to 20 bytes', async () => {
    const { h, blk, q } = await device({ serial: 'hv-disk-0' });
    const req = submit(q, VIRTIO_BLK_T_GET_ID, 0, { inLens: [20] });
    await run(blk);
    expect(Buffer.from(h.bytes(req.data[0], 20)).toString('latin1')).toBe('hv-disk-0'.padEnd(20, '\0'));
    expect(q.takeUsed()).toEqual([{ id: req.head, len: 21 }]);
  });

  it('offers RO on a read-only disk and fails writes with IOERR, leaving the file alone', async () => {
    const { file, h, blk, q } = await device({ readOnly: true });
    expect(blk.deviceFeatures & VIRTIO_BLK_F_RO).toBe(VIRTIO_BLK_F_RO);
    const before = fs.readFileSync(file);
    const w = submit(q, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512).fill(0xee) });
    const r = submit(q, VIRTIO_BLK_T_IN, 0, { inLens: [512] });
    await run(blk);
    expect(h.bytes(w.status, 1)[0]).toBe(VIRTIO_BLK_S_IOERR);
    expect(h.bytes(r.status, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    expect(h.bytes(r.data[0], 512)).toEqual(sectorBytes(0));
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('fails requests past the capacity or of partial sectors with IOERR, unknown types with UNSUPP', async () => {
    const { h, blk, q } = await device();
    const past = submit(q, VIRTIO_BLK_T_IN, SECTORS - 1, { inLens: [1024] });
    const huge = submit(q, VIRTIO_BLK_T_IN, 2 ** 52, { inLens: [512] });
    const partial = submit(q, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(100) });
    const discard = submit(q, 11, 0, { out: new Uint8Array(16) });
    const last = submit(q, VIRTIO_BLK_T_IN, SECTORS - 1, { inLens: [512] });
    await run(blk);
    expect([past, huge, partial, discard, last].map((r) => h.bytes(r.status, 1)[0])).toEqual([
      VIRTIO_BLK_S_IOERR,
      VIRTIO_BLK_S_IOERR,
      VIRTIO_BLK_S_IOERR,
      VIRTIO_BLK_S_UNSUPP,
      VIRTIO_BLK_S_OK,
    ]);
    expect(h.bytes(last.data[0], 512)).toEqual(sectorBytes(SECTORS - 1));
  });

  it('serves 32 requests in flight at once, each with its own sector, whatever order they finish in', async () => {
    const { h, blk, q } = await device();
    const reqs = Array.from({ length: 32 }, (_, i) => ({ sector: (i * 5) % SECTORS, ...submit(q, VIRTIO_BLK_T_IN, (i * 5) % SECTORS, { inLens: [512] }) }));
    blk.notify(0);
    expect(blk.inFlight).toBe(32);
    await blk.idle();
    const used = q.takeUsed();
    expect(used.map((u) => u.id).sort((a, b) => a - b)).toEqual(reqs.map((r) => r.head).sort((a, b) => a - b));
    for (const r of reqs) {
      expect(h.bytes(r.status, 1)[0]).toBe(VIRTIO_BLK_S_OK);
      expect(h.bytes(r.data[0], 512)).toEqual(sectorBytes(r.sector));
    }
  });

  it('takes requests through indirect descriptor tables', async () => {
    const { h, blk, q } = await device();
    const req = submit(q, VIRTIO_BLK_T_IN, 7, { inLens: [256, 256] }, true);
    await run(blk);
    const got = new Uint8Array([...h.bytes(req.data[0], 256), ...h.bytes(req.data[1], 256)]);
    expect(got).toEqual(sectorBytes(7));
  });

  it('drops completions after a reset: nothing reaches the used ring the driver took back', async () => {
    const { h, blk, q } = await device();
    const req = submit(q, VIRTIO_BLK_T_IN, 1, { inLens: [512] });
    blk.notify(0);
    blk.reset();
    await blk.idle();
    expect(q.usedIdx()).toBe(0);
    expect(h.bytes(req.status, 1)[0]).toBe(0);
    expect(h.bytes(req.data[0], 512)).toEqual(new Uint8Array(512));
  });

  it('logs a request with no room for a header or status and returns it with length 0', async () => {
    const { h, blk, q } = await device();
    const head = q.add([{ len: 8, data: new Uint8Array(8) }, { len: 1, write: true }]);
    const good = submit(q, VIRTIO_BLK_T_IN, 2, { inLens: [512] });
    await run(blk);
    expect(q.takeUsed()).toEqual([{ id: head, len: 0 }, { id: good.head, len: 513 }]);
    expect(h.warnings.join('\n')).toMatch(/no room for header and status/);
  });

  it('interrupts the driver for chains the queue refused, so it gets their buffers back', async () => {
    const { h, blk, q } = await device();
    q.writeDescriptor(q.layout.descTable, 200, 0x7fff_0000_0000, 16, 0, 0);
    q.publish(200);
    await run(blk);
    expect(q.takeUsed()).toEqual([{ id: 200, len: 0 }]);
    expect(h.interrupt.used).toEqual([0]);
    expect(h.warnings.join('\n')).toMatch(/not inside guest RAM/);
  });
});
