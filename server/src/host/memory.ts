import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** /proc/meminfo and node*\/meminfo print sizes in kibibytes ("kB" there means 1024 bytes). */
const MEMINFO_UNIT_BYTES = 1024;

/**
 * The value of one "<key>: <n> kB" line of a meminfo text, in bytes. Per-node files prefix each line with
 * "Node <id> ", so the key is matched at the end of the label.
 */
export function parseMeminfoBytes(meminfo: string, key: string): number {
  for (const line of meminfo.split('\n')) {
    const match = /^(.*?)\s*:\s*(\d+)\s*(kB)?\s*$/.exec(line);
    if (!match) continue;
    const label = match[1] ?? '';
    if (label === key || label.endsWith(` ${key}`)) {
      return Number(match[2]) * (match[3] ? MEMINFO_UNIT_BYTES : 1);
    }
  }
  throw new Error(`meminfo has no ${key} line`);
}

/** Total usable RAM: MemTotal of <procRoot>/meminfo (what `free -b` reports as total). */
export function readMemTotalBytes(procRoot = '/proc'): number {
  return parseMeminfoBytes(readFileSync(join(procRoot, 'meminfo'), 'utf8'), 'MemTotal');
}
