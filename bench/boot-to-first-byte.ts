/**
 * Boot to first serial byte, and peak RSS, hv vs QEMU TCG, same guest (test/guests/build/guest.elf, action=hlt,
 * 32 MiB), in one run.
 *
 * hv (one hvd started untimed; EMULATED domains, one vCPU):
 *   running: t0 just before CreateDomain(paused=false); StreamConsole opened as soon as it returns, scrollback
 *            replay on (the default) so no byte is missed; t1 = arrival of the first output byte at the client.
 *   paused:  t0 just before CreateDomain(paused=true); StreamConsole opened, then ResumeDomain; t1 as above.
 *            Also reported: ResumeDomain call → first byte.
 *   Then, once "halting" is seen, the engine's VmHWM (pid = status.engine_pid) and DestroyDomain.
 * QEMU: t0 just before spawn of qemu-system-x86_64 -M microvm -accel tcg ... -serial stdio; t1 = first stdout
 *   byte; VmHWM read once "halting" is seen, then killed.
 * Iterations are interleaved (hv running, hv paused, qemu) after one untimed warm-up of each.
 *
 * Usage: node dist/bench/boot-to-first-byte.js [iterations=10]
 */
import { Domains, guestSpec } from './support/hv-domains';
import { GUEST_ELF, procStatusBytes, QEMU, runBench, sleep, startHvd, startQemu, watchdog } from './support/processes';
import { fmt, mib, nsToMs, recordResults, summarize, table, type Summary } from './support/report';

const MEMORY_BYTES = 32 << 20;
const HALTED = /hv-guest: halting/;
const STEP_TIMEOUT_MS = 10_000;
/** Let a halted guest sit a moment before reading peak RSS. */
const SETTLE_MS = 100;

interface Sample {
  firstByteMs: number;
  /** Secondary interval: CreateDomain's own latency (running) or ResumeDomain → first byte (paused). */
  secondaryMs?: number;
  hwmBytes: number;
  rssBytes: number;
}

async function hvBoot(domains: Domains, mode: 'running' | 'paused'): Promise<Sample> {
  const spec = guestSpec('action=hlt', MEMORY_BYTES);
  const t0 = process.hrtime.bigint();
  const domain = await domains.create(spec, mode === 'paused');
  const created = process.hrtime.bigint();
  const console = domains.console(domain.id);
  let resumeAt = 0n;
  if (mode === 'paused') {
    resumeAt = process.hrtime.bigint();
    await domains.resume(domain.id);
  }
  try {
    await console.output.waitFor(/[\s\S]/, STEP_TIMEOUT_MS);
    const firstByte = console.output.firstByteAt;
    await console.output.waitFor(HALTED, STEP_TIMEOUT_MS);
    await sleep(SETTLE_MS);
    const pid = domain.status!.enginePid;
    const sample: Sample = {
      firstByteMs: nsToMs(firstByte - t0),
      secondaryMs: mode === 'paused' ? nsToMs(firstByte - resumeAt) : nsToMs(created - t0),
      hwmBytes: procStatusBytes(pid, 'VmHWM'),
      rssBytes: procStatusBytes(pid, 'VmRSS'),
    };
    return sample;
  } finally {
    await domains.destroy(domain.id).catch(() => undefined);
    await Promise.race([console.ended, sleep(STEP_TIMEOUT_MS)]);
  }
}

async function qemuBoot(): Promise<Sample> {
  const qemu = startQemu([
    '-M', 'microvm', '-accel', 'tcg',
    '-kernel', GUEST_ELF, '-append', 'action=hlt',
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-m', '32M',
  ]);
  try {
    await qemu.output.waitFor(/[\s\S]/, STEP_TIMEOUT_MS);
    await qemu.output.waitFor(HALTED, STEP_TIMEOUT_MS);
    await sleep(SETTLE_MS);
    return {
      firstByteMs: nsToMs(qemu.output.firstByteAt - qemu.spawnedAt),
      hwmBytes: procStatusBytes(qemu.pid, 'VmHWM'),
      rssBytes: procStatusBytes(qemu.pid, 'VmRSS'),
    };
  } finally {
    await qemu.kill();
  }
}

function msRow(label: string, s: Summary): string[] {
  return [label, String(s.n), fmt(s.min), fmt(s.median), fmt(s.p90), fmt(s.max)];
}

function mibRow(label: string, hwm: Summary, rss: Summary): string[] {
  return [label, fmt(mib(hwm.min)), fmt(mib(hwm.median)), fmt(mib(hwm.max)), fmt(mib(rss.median))];
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 10);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 50) throw new Error('iterations must be 1..50');
  watchdog(55_000, 'boot-to-first-byte');

  const hvd = await startHvd();
  const domains = new Domains(hvd.clients);
  const samples = { running: [] as Sample[], paused: [] as Sample[], qemu: [] as Sample[] };
  try {
    await hvBoot(domains, 'running'); // warm-up: page cache, hvd's first-call paths
    await hvBoot(domains, 'paused');
    await qemuBoot();
    for (let i = 0; i < iterations; i++) {
      samples.running.push(await hvBoot(domains, 'running'));
      samples.paused.push(await hvBoot(domains, 'paused'));
      samples.qemu.push(await qemuBoot());
    }
  } finally {
    await hvd.stop();
  }

  const pick = (list: Sample[], f: (s: Sample) => number) => summarize(list.map(f));
  const running = pick(samples.running, (s) => s.firstByteMs);
  const qemu = pick(samples.qemu, (s) => s.firstByteMs);
  console.log(`boot to first serial byte: guest.elf action=hlt, 32 MiB, ${iterations} iterations each (+1 warm-up), ms`);
  console.log(
    table(
      ['', 'n', 'min', 'median', 'p90', 'max'],
      [
        msRow('hv  CreateDomain(running) → first byte at StreamConsole client', running),
        msRow('hv    of which CreateDomain RPC returned', pick(samples.running, (s) => s.secondaryMs!)),
        msRow('hv  CreateDomain(paused) + attach + Resume → first byte', pick(samples.paused, (s) => s.firstByteMs)),
        msRow('hv    ResumeDomain call → first byte', pick(samples.paused, (s) => s.secondaryMs!)),
        msRow(`qemu -M microvm -accel tcg spawn → first stdout byte`, qemu),
      ],
    ),
  );
  const hvHwm = pick([...samples.running, ...samples.paused], (s) => s.hwmBytes);
  const qemuHwm = pick(samples.qemu, (s) => s.hwmBytes);
  console.log(`\npeak RSS (VmHWM) while the guest sits halted, MiB`);
  console.log(
    table(
      ['', 'min', 'median', 'max', 'VmRSS median'],
      [
        mibRow('hv engine process', hvHwm, pick([...samples.running, ...samples.paused], (s) => s.rssBytes)),
        mibRow('qemu', qemuHwm, pick(samples.qemu, (s) => s.rssBytes)),
      ],
    ),
  );
  console.log(`(${QEMU}; hv: node ${process.version}, EMULATED domain on Unicorn)`);
  recordResults([
    { bench: 'boot-to-first-byte', metric: 'boot → first serial byte, median', unit: 'ms', hv: running.median, qemu: qemu.median, note: `hv: CreateDomain(running) → StreamConsole; n=${iterations}` },
    { bench: 'boot-to-first-byte', metric: 'boot → first serial byte, p90', unit: 'ms', hv: running.p90, qemu: qemu.p90, note: `n=${iterations}` },
    { bench: 'boot-to-first-byte', metric: 'peak RSS (VmHWM), median', unit: 'MiB', hv: mib(hvHwm.median), qemu: mib(qemuHwm.median), note: 'hv: engine process; guest 32 MiB halted' },
  ]);
}

runBench(main);
