import { resourceExhausted } from '../errors';

/** What one domain takes from the host while it runs. */
export interface DomainUse {
  vcpus: number;
  memoryBytes: number;
}

/** What the host has: online CPUs and MemTotal. */
export interface HostCapacity {
  cpus: number;
  memoryBytes: number;
}

/** How far running domains may oversubscribe the host (a ratio of 1 means not at all). */
export interface OvercommitRatios {
  vcpu: number;
  memory: number;
}

/**
 * Defaults: memory is not overcommitted (guest RAM is touched and kept; hvd has no balloon pressure yet, and
 * swapping guests is worse than refusing one), vCPUs 4 per host CPU (OpenStack Nova's long-standing
 * cpu_allocation_ratio default was 16; 4 keeps emulated guests, which busy a host CPU each, usable).
 */
export const DEFAULT_OVERCOMMIT: OvercommitRatios = { vcpu: 4, memory: 1 };

/** The most a host may hand out: capacity × ratio, rounded down (whole vCPUs, whole bytes). */
export function hostBudget(host: HostCapacity, ratios: OvercommitRatios): DomainUse {
  return { vcpus: Math.floor(host.cpus * ratios.vcpu), memoryBytes: Math.floor(host.memoryBytes * ratios.memory) };
}

/**
 * Checks that one more domain fits beside the running ones (current vCPUs and current memory, summed) within the
 * host's capacity times the overcommit ratios; throws RESOURCE_EXHAUSTED saying what is short otherwise.
 * Pure: the caller passes the domains that run or are starting, excluding the one being started.
 */
export function checkFits(running: readonly DomainUse[], wanted: DomainUse, host: HostCapacity, ratios: OvercommitRatios = DEFAULT_OVERCOMMIT): void {
  const budget = hostBudget(host, ratios);
  const used = running.reduce((sum, d) => ({ vcpus: sum.vcpus + d.vcpus, memoryBytes: sum.memoryBytes + d.memoryBytes }), { vcpus: 0, memoryBytes: 0 });
  const short: string[] = [];
  if (used.memoryBytes + wanted.memoryBytes > budget.memoryBytes) {
    short.push(
      `needs ${wanted.memoryBytes} bytes of memory but only ${Math.max(0, budget.memoryBytes - used.memoryBytes)} of ${budget.memoryBytes} are free` +
        ` (host ${host.memoryBytes} bytes × memory overcommit ${ratios.memory})`,
    );
  }
  if (used.vcpus + wanted.vcpus > budget.vcpus) {
    short.push(
      `needs ${wanted.vcpus} vCPUs but only ${Math.max(0, budget.vcpus - used.vcpus)} of ${budget.vcpus} are free` +
        ` (${host.cpus} host CPUs × vCPU overcommit ${ratios.vcpu})`,
    );
  }
  if (short.length > 0) throw resourceExhausted(`domain ${short.join('; ')}`);
}

/** Parses an overcommit ratio flag: a finite number greater than 0. */
export function parseRatio(flag: string, value: string): number {
  const ratio = Number(value);
  if (!Number.isFinite(ratio) || ratio <= 0 || value.trim() === '') throw new Error(`${flag} ${value}: expected a ratio greater than 0 (e.g. 1.0)`);
  return ratio;
}
