/**
 * Prints the headline rows the benches appended to a BENCH_RESULTS file as one table, with the machine and date.
 * Usage: node dist/bench/summary.js <results.jsonl>
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fmt, table, type ResultRow } from './support/report';

function cpuModel(): string {
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8' });
    return lscpu.match(/^Model name:\s*(.+)$/m)?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

const file = process.argv[2];
if (!file) throw new Error('usage: summary <results.jsonl>');
const rows: ResultRow[] = fs.existsSync(file)
  ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ResultRow)
  : [];
const kvm = fs.existsSync('/dev/kvm') ? 'present' : 'absent';
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`machine: ${os.availableParallelism()} CPUs (nproc), ${cpuModel()}, /dev/kvm ${kvm}; ${new Date().toISOString().slice(0, 10)}; load average after: ${load}`);
console.log(
  table(
    ['bench', 'metric', 'unit', 'hv', 'qemu', 'hv/qemu', 'note'],
    rows.map((r) => [r.bench, r.metric, r.unit, fmt(r.hv), fmt(r.qemu), fmt(r.hv / r.qemu), r.note]),
    'lllrrrl',
  ),
);
