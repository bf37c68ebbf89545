import { readFileSync } from 'node:fs';

/** One line of /proc/<pid>/maps. */
export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
}

export function readMaps(pid: number | 'self'): Mapping[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [range, perms, , , , ...rest] = line.split(/\s+/);
      const [start, end] = range.split('-').map((hex) => BigInt(`0x${hex}`));
      return { start, end, perms, path: rest.join(' ') };
    });
}

/** An anonymous rw-p mapping of exactly `bytes` (how guest RAM shows), with the mappings touching it on either side. */
export interface RamMapping {
  ram: Mapping;
  before: Mapping | undefined;
  after: Mapping | undefined;
}

export function ramMappingsOf(maps: Mapping[], bytes: number): RamMapping[] {
  return maps.flatMap((ram, i) => {
    if (ram.perms !== 'rw-p' || ram.path !== '' || ram.end - ram.start !== BigInt(bytes)) return [];
    const before = maps[i - 1]?.end === ram.start ? maps[i - 1] : undefined;
    const after = maps[i + 1]?.start === ram.end ? maps[i + 1] : undefined;
    return [{ ram, before, after }];
  });
}

const GUARD_BYTES = 2n << 20n;

/** Why `m` is not guest RAM guarded as GuestMemory promises (undefined when it is): PROT_NONE >= 2 MiB both sides, RAM 2 MiB-aligned. */
export function guardProblem(m: RamMapping): string | undefined {
  if (m.ram.start % GUARD_BYTES !== 0n) return `RAM at 0x${m.ram.start.toString(16)} is not 2 MiB-aligned`;
  for (const [side, guard] of [['before', m.before], ['after', m.after]] as const) {
    if (!guard) return `nothing mapped right ${side} RAM`;
    if (guard.perms !== '---p' || guard.path !== '') return `${side} RAM: ${guard.perms} ${guard.path}, not an anonymous PROT_NONE guard`;
    if (guard.end - guard.start < GUARD_BYTES) return `${side} RAM: a guard of only ${guard.end - guard.start} bytes`;
  }
  return undefined;
}
