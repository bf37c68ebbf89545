/**
 * virtio-blk request throughput of the device model alone: the driver side is played by the test harness
 * (test/engine/virtio/driver-harness.ts) writing descriptors and rings straight into real guest RAM, no CPU and
 * no PCI. Each scenario reads the whole image once, sequentially, in requests of one block size, keeping a fixed
 * number of requests in flight (queue depth); the driver reaps used entries on each interrupt and refills.
 * Baseline: the same file read sequentially with the same block size through fs.promises FileHandle.read, one
 * read at a time, in the same process. Both go through the page cache (the image is read once first).
 *
 * Usage: node dist/bench/virtio-blk-throughput.js [imageMiB=64] [runs=3]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VIRTIO_F_EVENT_IDX } from '../engine/src/virtio/constants';
import { RawFileBackend, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN, VirtioBlk } from '../engine/src/virtio/blk';
import { DriverHarness, type DriverQueue } from '../test/engine/virtio/driver-harness';
import { runBench } from './support/processes';
import { fmt, summarize, table } from './support/report';

const KiB = 1024;
const SCENARIOS = [
  { block: 4 * KiB, depth: 1 },
  { block: 4 * KiB, depth: 32 },
  { block: 64 * KiB, depth: 1 },
  { block: 64 * KiB, depth: 32 },
];
/** Guest RAM for the harness: rings plus one header, data and status buffer per request slot. */
const RAM_BYTES = 16 << 20;

interface Slot {
  header: number;
  data: number;
  status: number;
}

async function deviceRun(file: string, size: number, block: number, depth: number): Promise<number> {
  const backend = await RawFileBackend.open(file, { readOnly: true });
  try {
    const h = new DriverHarness(RAM_BYTES);
    const blk = new VirtioBlk({ backend });
    const q = h.queue(blk.queueMaxSizes[0]);
    // The harness driver does not maintain used_event, so it does not negotiate EVENT_IDX.
    h.activate(blk, [q], blk.deviceFeatures & ~VIRTIO_F_EVENT_IDX);
    const slots: Slot[] = Array.from({ length: depth }, () => ({ header: h.alloc(16), data: h.alloc(block, 4096), status: h.alloc(1) }));
    const free = [...slots];
    const byHead = new Map<number, Slot>();
    const header = new Uint8Array(16);
    const view = new DataView(header.buffer);
    view.setUint32(0, VIRTIO_BLK_T_IN, true);
    const total = Math.floor(size / block);
    let submitted = 0;
    let completed = 0;
    const submit = (q: DriverQueue) => {
      while (free.length > 0 && submitted < total) {
        const slot = free.pop()!;
        view.setBigUint64(8, BigInt((submitted * block) / 512), true);
        const head = q.add([
          { len: 16, addr: slot.header, data: header },
          { len: block, write: true, addr: slot.data },
          { len: 1, write: true, addr: slot.status },
        ]);
        byHead.set(head, slot);
        submitted++;
      }
      blk.notify(0);
    };
    const started = process.hrtime.bigint();
    submit(q);
    while (completed < total) {
      await h.interrupt.next();
      for (const used of q.takeUsed()) {
        const slot = byHead.get(used.id)!;
        byHead.delete(used.id);
        if (h.memory.view(slot.status, 1)[0] !== VIRTIO_BLK_S_OK) throw new Error('request failed');
        free.push(slot);
        completed++;
      }
      submit(q);
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await backend.close();
  }
}

async function fsRun(file: string, size: number, block: number): Promise<number> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(block);
    const started = process.hrtime.bigint();
    for (let at = 0; at + block <= size; at += block) {
      const { bytesRead } = await handle.read(buffer, 0, block, at);
      if (bytesRead !== block) throw new Error('short read');
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const imageMiB = Number(process.argv[2] ?? 64);
  const runs = Number(process.argv[3] ?? 3);
  if (!Number.isInteger(imageMiB) || imageMiB < 1 || imageMiB > 4096) throw new Error('imageMiB must be 1..4096');
  if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new Error('runs must be 1..9');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-blk-bench-'));
  const file = path.join(dir, 'disk.img');
  const size = imageMiB << 20;
  try {
    const chunk = Buffer.alloc(1 << 20);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < imageMiB; i++) fs.writeSync(fd, chunk.fill(i & 0xff));
    fs.closeSync(fd);
    await fsRun(file, size, 1 << 20); // into the page cache

    const rows: string[][] = [];
    for (const { block, depth } of SCENARIOS) {
      const device: number[] = [];
      const baseline: number[] = [];
      for (let r = 0; r < runs; r++) {
        device.push(await deviceRun(file, size, block, depth));
        baseline.push(await fsRun(file, size, block));
      }
      const requests = size / block;
      const d = summarize(device.map((s) => requests / s)).median;
      const b = summarize(baseline.map((s) => requests / s)).median;
      rows.push([`${block / KiB} KiB`, String(depth), fmt(d), fmt((d * block) / (1 << 20)), fmt(b), fmt((b * block) / (1 << 20)), fmt(d / b)]);
    }
    console.log(`virtio-blk device model, harness driver, ${imageMiB} MiB image in the page cache, median of ${runs} runs (node ${process.version}, ${os.availableParallelism()} CPUs)`);
    console.log(table(['block', 'queue depth', 'device req/s', 'device MiB/s', 'fs read/s (QD1)', 'fs MiB/s', 'device / fs'], rows));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(main);
