/**
 * Port-I/O exits per second: the test guest's `pio-loop:N` action (N `outb` to the UART scratch register 0x3ff,
 * then isa-debug-exit), under hv and under QEMU TCG, same guest.elf, 32 MiB.
 *
 * hv: an EMULATED domain with platform.debug_exit = true, created paused, StreamConsole attached, resumed.
 *   elapsed = arrival at the client of the "pio-loop done" line − arrival of the "pio-loop start" line;
 *   exits/s = N / elapsed. Cross-check from the engine's own counters: GetDomainStats polled every
 *   STATS_POLL_MS during the loop; Δvcpu_exits/Δt and Δcpu_time_ns/Δexits between the first and last poll
 *   that both fall inside the loop.
 * QEMU: qemu-system-x86_64 -M microvm -accel tcg ... -device isa-debug-exit,iobase=0xf4,iosize=0x04;
 *   elapsed between the same two lines on its stdout.
 * Each side RUNS times (interleaved); the median is reported.
 *
 * Usage: node dist/bench/pio-exit-rate.js [N=50000000] [runs=3]
 */
import { Domains, guestSpec } from './support/hv-domains';
import { GUEST_ELF, QEMU, runBench, sleep, startHvd, startQemu, watchdog } from './support/processes';
import { fmt, nsToMs, recordResults, summarize, table } from './support/report';
import type { DomainStats } from '../gen/hypervisor/v1/domain_service';

const MEMORY_BYTES = 32 << 20;
const START = /hv-guest: pio-loop start n=\d+\n/;
const DONE = /hv-guest: pio-loop done n=\d+\n/;
const STATS_POLL_MS = 250;
/** Exit status QEMU's isa-debug-exit gives `outl(0xf4, 0)`: (0 << 1) | 1. */
const DEBUG_EXIT_ZERO = 1;

interface Run {
  elapsedMs: number;
  exitsPerSec: number;
  /** From the engine's counters (hv only). */
  counterExitsPerSec?: number;
  cpuNsPerExit?: number;
  /** Engine CPU time / wall time over the loop (1.0 = one core busy). */
  cpuShare?: number;
  counterExits?: number;
}

async function hvRun(domains: Domains, n: number, timeoutMs: number): Promise<Run> {
  const spec = guestSpec(`action=pio-loop:${n}`, MEMORY_BYTES, { platform: { debugExit: true } });
  const domain = await domains.create(spec, true);
  const console = domains.console(domain.id);
  const polls: { at: bigint; stats: DomainStats }[] = [];
  let polling = true;
  try {
    await domains.resume(domain.id);
    const started = await console.output.waitFor(START, 10_000);
    const done = console.output.waitFor(DONE, timeoutMs);
    void done.finally(() => (polling = false)).catch(() => undefined);
    while (polling) {
      await sleep(STATS_POLL_MS);
      if (!polling) break;
      const stats = await domains.stats(domain.id).catch(() => undefined);
      const at = process.hrtime.bigint();
      if (stats && console.output.timeOf(DONE) === undefined) polls.push({ at, stats });
    }
    const finished = await done;
    const ended = await Promise.race([console.ended, sleep(5000).then(() => undefined)]);
    if (ended?.closed?.guestExitStatus !== DEBUG_EXIT_ZERO) {
      throw new Error(`the guest did not end by debug-exit 0: ${JSON.stringify(ended?.closed ?? ended?.error?.message)}`);
    }
    const elapsedMs = nsToMs(finished - started);
    const run: Run = { elapsedMs, exitsPerSec: n / (elapsedMs / 1000) };
    if (polls.length >= 2) {
      const a = polls[0];
      const b = polls[polls.length - 1];
      const exits = b.stats.vcpuExits - a.stats.vcpuExits;
      const seconds = Number(b.at - a.at) / 1e9;
      run.counterExits = exits;
      run.counterExitsPerSec = exits / seconds;
      run.cpuNsPerExit = (b.stats.cpuTimeNs - a.stats.cpuTimeNs) / exits;
      run.cpuShare = (b.stats.cpuTimeNs - a.stats.cpuTimeNs) / 1e9 / seconds;
    }
    return run;
  } finally {
    polling = false;
    await domains.destroy(domain.id).catch(() => undefined); // already gone when the guest exited
    console.cancel();
  }
}

async function qemuRun(n: number, timeoutMs: number): Promise<Run> {
  const qemu = startQemu([
    '-M', 'microvm', '-accel', 'tcg',
    '-kernel', GUEST_ELF, '-append', `action=pio-loop:${n}`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-m', '32M',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ]);
  try {
    const started = await qemu.output.waitFor(START, 10_000);
    const finished = await qemu.output.waitFor(DONE, timeoutMs);
    const code = await Promise.race([qemu.exited, sleep(5000).then(() => 'timeout')]);
    if (code !== DEBUG_EXIT_ZERO) throw new Error(`qemu did not end by debug-exit 0: ${code}`);
    const elapsedMs = nsToMs(finished - started);
    return { elapsedMs, exitsPerSec: n / (elapsedMs / 1000) };
  } finally {
    await qemu.kill();
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50_000_000);
  const runs = Number(process.argv[3] ?? 3);
  if (!Number.isInteger(n) || n < 1 || n > 0xffff_ffff) throw new Error('N must be 1..2^32-1');
  if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new Error('runs must be 1..9');
  const budgetMs = 55_000;
  watchdog(budgetMs, 'pio-exit-rate');

  const hvd = await startHvd();
  const domains = new Domains(hvd.clients);
  const hv: Run[] = [];
  const qemu: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      hv.push(await hvRun(domains, n, budgetMs));
      qemu.push(await qemuRun(n, budgetMs));
    }
  } finally {
    await hvd.stop();
  }

  const hvRate = summarize(hv.map((r) => r.exitsPerSec));
  const qemuRate = summarize(qemu.map((r) => r.exitsPerSec));
  const row = (label: string, list: Run[]) => {
    const s = summarize(list.map((r) => r.exitsPerSec));
    return [label, String(s.n), fmt(summarize(list.map((r) => r.elapsedMs)).median), fmt(s.min), fmt(s.median), fmt(s.max)];
  };
  console.log(`port-I/O exit rate: guest.elf action=pio-loop:${n} (outb 0x3ff), 32 MiB, ${runs} runs each, start→done line`);
  console.log(
    table(
      ['', 'runs', 'elapsed ms (median)', 'exits/s min', 'median', 'max'],
      [row('hv EMULATED (Unicorn), StreamConsole', hv), row('qemu -M microvm -accel tcg, stdout', qemu)],
    ),
  );
  const counted = hv.filter((r) => r.counterExitsPerSec !== undefined);
  if (counted.length > 0) {
    console.log(`\nhv cross-check from GetDomainStats polled every ${STATS_POLL_MS} ms inside the loop (median of ${counted.length} runs)`);
    console.log(
      table(
        ['', 'value'],
        [
          ['vcpu_exits/s (engine counter)', fmt(summarize(counted.map((r) => r.counterExitsPerSec!)).median)],
          ['engine CPU ns per exit', fmt(summarize(counted.map((r) => r.cpuNsPerExit!)).median)],
          ['engine CPU share (cores)', fmt(summarize(counted.map((r) => r.cpuShare!)).median)],
        ],
      ),
    );
  }
  console.log(`hv / qemu (median): ${fmt(hvRate.median / qemuRate.median)}  (${QEMU})`);
  recordResults([
    { bench: 'pio-exit-rate', metric: `port-I/O exits/s, pio-loop:${n}, median`, unit: 'exits/s', hv: hvRate.median, qemu: qemuRate.median, note: `median of ${runs}; hv EMULATED vs qemu TCG` },
  ]);
}

runBench(main);
