/**
 * virtio-blk requests per second as a guest sees them: the test guest's polling driver (test/guests/src/virtio-blk.c,
 * `action=virtio-blk blk-read=0 blk-loop=N`) issues N one-sector reads in a row, one in flight, each notified and
 * then polled on the used ring, under hv and under QEMU TCG, same guest.elf, same raw image (page cache warm).
 *
 * hv: an EMULATED domain with one disk device (read-only), created paused, StreamConsole attached, resumed;
 *   elapsed = arrival of "virtio-blk loop done" − arrival of "virtio-blk loop start" at the client.
 * QEMU: qemu-system-x86_64 -M pc -accel tcg -device virtio-blk-pci,disable-legacy=on (SeaBIOS assigns the BARs);
 *   elapsed between the same two lines on its stdout.
 * On hv a request costs a queue notify (which ends the emulated time slice), the backend's asynchronous read on
 * libuv's pool, and the guest's polling until the next slice sees the used entry: the figure shows that latency.
 * Each side RUNS times (interleaved); the median is reported.
 *
 * Usage: node dist/bench/virtio-blk-guest-loop.js [N=5000] [runs=3]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Domains, guestSpec } from './support/hv-domains';
import { GUEST_ELF, QEMU, runBench, sleep, startHvd, startQemu, watchdog } from './support/processes';
import { fmt, nsToMs, recordResults, summarize, table } from './support/report';

const MEMORY_BYTES = 32 << 20;
/** Image size: 1 MiB (2048 sectors); the loop wraps around it. */
const IMAGE_BYTES = 1 << 20;
const START = /hv-guest: virtio-blk loop start n=\d+\n/;
const DONE = /hv-guest: virtio-blk loop done n=\d+ errors=(\d+)\n/;

interface Run {
  elapsedMs: number;
  requestsPerSec: number;
}

function cmdline(n: number): string {
  return `action=virtio-blk blk-read=0 blk-loop=${n}`;
}

function checkErrors(output: string): void {
  const errors = DONE.exec(output)?.[1];
  if (errors !== '0') throw new Error(`the guest reported ${errors ?? 'no'} read errors`);
}

async function hvRun(domains: Domains, image: string, n: number, timeoutMs: number): Promise<Run> {
  const spec = guestSpec(cmdline(n), MEMORY_BYTES, {
    devices: [{ id: '', kind: { $case: 'disk', value: { path: image, readOnly: true, serial: '' } } }],
  });
  const domain = await domains.create(spec, true);
  const console = domains.console(domain.id);
  try {
    await domains.resume(domain.id);
    const started = await console.output.waitFor(START, 10_000);
    const finished = await console.output.waitFor(DONE, timeoutMs);
    checkErrors(console.output.text);
    const elapsedMs = nsToMs(finished - started);
    return { elapsedMs, requestsPerSec: n / (elapsedMs / 1000) };
  } finally {
    await domains.destroy(domain.id).catch(() => undefined); // already gone when the guest powered off
    console.cancel();
  }
}

async function qemuRun(image: string, n: number, timeoutMs: number): Promise<Run> {
  const qemu = startQemu([
    '-M', 'pc', '-accel', 'tcg',
    '-kernel', GUEST_ELF, '-append', cmdline(n),
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-m', '32M', '-no-reboot',
    '-drive', `file=${image},if=none,id=d0,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on',
  ]);
  try {
    const started = await qemu.output.waitFor(START, 10_000);
    const finished = await qemu.output.waitFor(DONE, timeoutMs);
    checkErrors(qemu.output.text);
    const elapsedMs = nsToMs(finished - started);
    return { elapsedMs, requestsPerSec: n / (elapsedMs / 1000) };
  } finally {
    await qemu.kill();
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const runs = Number(process.argv[3] ?? 3);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new Error('N must be 1..10^7');
  if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new Error('runs must be 1..9');
  const budgetMs = 55_000;
  watchdog(budgetMs, 'virtio-blk-guest-loop');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-blk-'));
  const image = path.join(dir, 'disk.img');
  fs.writeFileSync(image, Buffer.alloc(IMAGE_BYTES, 0x5a));
  const hvd = await startHvd();
  const domains = new Domains(hvd.clients);
  const hv: Run[] = [];
  const qemu: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      hv.push(await hvRun(domains, image, n, budgetMs));
      qemu.push(await qemuRun(image, n, budgetMs));
      await sleep(100);
    }
  } finally {
    await hvd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const hvRate = summarize(hv.map((r) => r.requestsPerSec));
  const qemuRate = summarize(qemu.map((r) => r.requestsPerSec));
  const row = (label: string, list: Run[]) => {
    const s = summarize(list.map((r) => r.requestsPerSec));
    return [label, String(s.n), fmt(summarize(list.map((r) => r.elapsedMs)).median), fmt(s.min), fmt(s.median), fmt(s.max)];
  };
  console.log(`virtio-blk guest read loop: guest.elf ${cmdline(n)} (512-byte reads, one in flight), ${runs} runs each, start→done line`);
  console.log(
    table(
      ['', 'runs', 'elapsed ms (median)', 'requests/s min', 'median', 'max'],
      [row('hv EMULATED (Unicorn), StreamConsole', hv), row('qemu -M pc -accel tcg, stdout', qemu)],
    ),
  );
  console.log(`hv / qemu (median): ${fmt(hvRate.median / qemuRate.median)}  (${QEMU})`);
  recordResults([
    { bench: 'virtio-blk-guest-loop', metric: `guest virtio-blk reads/s, blk-loop=${n}, median`, unit: 'requests/s', hv: hvRate.median, qemu: qemuRate.median, note: `median of ${runs}; hv EMULATED vs qemu TCG, polling driver` },
  ]);
}

runBench(main);
