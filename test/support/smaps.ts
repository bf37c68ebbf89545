import { readFileSync } from 'node:fs';

/**
 * Resident bytes of a process's mappings that are exactly `sizeBytes` long, from /proc/<pid>/smaps: guest RAM is
 * one read/write mapping of the domain's memory size between PROT_NONE guard pages, so this is its RSS.
 */
export function residentBytesOfMappingsSized(pid: number | 'self', sizeBytes: number): number[] {
  const found: number[] = [];
  let current: boolean | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) {
      current = Number(BigInt(`0x${range[2]}`) - BigInt(`0x${range[1]}`)) === sizeBytes;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss && current) found.push(Number(rss[1]) * 1024);
  }
  return found;
}

/** RSS of the one mapping of this size; throws unless there is exactly one. */
export function residentBytesOfMapping(pid: number | 'self', sizeBytes: number): number {
  const found = residentBytesOfMappingsSized(pid, sizeBytes);
  if (found.length !== 1) throw new Error(`expected one mapping of ${sizeBytes} bytes in /proc/${pid}/smaps, found ${found.length}`);
  return found[0];
}
