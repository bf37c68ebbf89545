import * as fs from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every Linux architecture hv runs on). */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
/** Fields after the command name in /proc/<pid>/stat: utime and stime are fields 14 and 15 (1-based). */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;

/** CPU time and resident memory of a process, from /proc. */
export function processStats(pid: number): { cpuTimeNs: number; rssBytes: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[UTIME_AFTER_COMM]) + Number(fields[STIME_AFTER_COMM]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuTimeNs: ticks * NS_PER_TICK, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
}
