import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpuList } from './cpu-list';

/** CPU topology of the online logical CPUs, as sysfs describes it. */
export interface HostTopologyFacts {
  /** Distinct physical packages among online CPUs. */
  sockets: number;
  /** Cores of the largest package (a core = one distinct thread_siblings_list). */
  coresPerSocket: number;
  /** Logical CPUs of the largest core (entries of thread_siblings_list). */
  threadsPerCore: number;
  /** Logical CPUs online. */
  onlineCpus: number;
  /** Ids of the online logical CPUs, ascending. */
  onlineCpuIds: number[];
}

/** Where sysfs keeps CPU state (Documentation/ABI/stable/sysfs-devices-system-cpu). */
const CPU_DIR = 'devices/system/cpu';
/** The online logical CPUs as a cpulist. */
const ONLINE_FILE = 'online';

function readText(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** Ids of the online logical CPUs, from <sysRoot>/devices/system/cpu/online. */
export function readOnlineCpus(sysRoot = '/sys'): number[] {
  return parseCpuList(readText(join(sysRoot, CPU_DIR, ONLINE_FILE)));
}

/**
 * Sockets, cores per socket and threads per core from each online CPU's topology/ directory
 * (Documentation/ABI/stable/sysfs-devices-system-cpu, Documentation/admin-guide/cputopology.rst):
 * physical_package_id names the socket; thread_siblings_list names the core (the CPUs sharing it), which stays
 * right where core_id repeats across dies of one package. An uneven host (some CPUs offline) reports its largest
 * socket and core; sockets × cores × threads then exceeds the online CPUs, which stay exact in onlineCpus.
 */
export function readTopology(sysRoot = '/sys', onlineCpuIds = readOnlineCpus(sysRoot)): HostTopologyFacts {
  const coresByPackage = new Map<string, Set<string>>();
  const online = new Set(onlineCpuIds);
  let threadsPerCore = 0;
  for (const cpu of onlineCpuIds) {
    const dir = join(sysRoot, CPU_DIR, `cpu${cpu}`, 'topology');
    const packageId = readText(join(dir, 'physical_package_id'));
    const siblings = parseCpuList(readText(join(dir, 'thread_siblings_list')));
    // Count only online siblings: an offline hyperthread does not run anything.
    const onlineSiblings = siblings.filter((id) => online.has(id));
    threadsPerCore = Math.max(threadsPerCore, onlineSiblings.length);
    const cores = coresByPackage.get(packageId) ?? new Set<string>();
    cores.add(onlineSiblings.join(','));
    coresByPackage.set(packageId, cores);
  }
  const coresPerSocket = Math.max(0, ...[...coresByPackage.values()].map((cores) => cores.size));
  return {
    sockets: coresByPackage.size,
    coresPerSocket,
    threadsPerCore,
    onlineCpus: onlineCpuIds.length,
    onlineCpuIds,
  };
}
