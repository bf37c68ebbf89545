import { describe, expect, it } from 'vitest';
import { parseMeminfoBytes, readMemTotalBytes } from '../../../server/src/host/memory';
import { bracketed, freeTotalBytes, sh } from './independent-sources';

describe('host memory', () => {
  it('MemTotal is `free -b` total', () => {
    const { value, around } = bracketed(readMemTotalBytes, freeTotalBytes);
    expect(around).toContain(value);
  });

  it('MemTotal is what awk reads from /proc/meminfo, in bytes', () => {
    const awk = () => Number(sh(`echo $(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 ))`));
    const { value, around } = bracketed(readMemTotalBytes, awk);
    expect(around).toContain(value);
  });

  it('parses per-node meminfo lines and unitless lines', () => {
    const text = 'Node 1 MemTotal:       2048 kB\nNode 1 HugePages_Total:     3\n';
    expect(parseMeminfoBytes(text, 'MemTotal')).toBe(2048 * 1024);
    expect(parseMeminfoBytes(text, 'HugePages_Total')).toBe(3);
    expect(() => parseMeminfoBytes(text, 'MemFree')).toThrow(/no MemFree/);
  });
});
