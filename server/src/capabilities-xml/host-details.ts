/**
 * Host facts libvirt's <capabilities> shows that HostFacts does not carry: per-CPU topology ids, dies, page sizes
 * and per-node page counts, microcode, physical address bits, suspend targets and IOMMU presence. Each is read
 * from procfs/sysfs on every call; whatever is unreadable is reported as absent, never guessed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The topology ids of one logical CPU (Documentation/ABI/stable/sysfs-devices-system-cpu, topology/). */
export interface CpuTopologyIds {
  socketId: number;
  /** 0 on kernels without die_id (before 5.2) — libvirt reports 0 then as well. */
  dieId: number;
  coreId: number;
  /** thread_siblings_list as the kernel prints it (a cpulist). */
  siblings: string;
}

/** A page size and how many pages of it a NUMA node has. */
export interface PageCount {
  sizeKiB: number;
  count: number;
}

export interface HostDetails {
  /** Topology ids by logical CPU id; CPUs without a readable topology/ (offline) are missing. */
  cpuTopology: Map<number, CpuTopologyIds>;
  /** Distinct dies of the largest package (1 when the kernel has no die_id). */
  diesPerSocket: number;
  /** Huge page sizes the kernel offers and how many are reserved host-wide (/sys/kernel/mm/hugepages), ascending. */
  hugePages: PageCount[];
  /** Huge pages reserved per NUMA node id (node*\/hugepages/hugepages-<n>kB/nr_hugepages). */
  hugePagesByNode: Map<number, PageCount[]>;
  /** /proc/cpuinfo "microcode" of the first processor; undefined when absent (virtual CPUs often have none). */
  microcode?: number;
  /** /proc/cpuinfo "address sizes": physical bits; undefined when absent. */
  physAddrBits?: number;
  /** Sleep states of /sys/power/state ("freeze", "mem", "disk", …). */
  sleepStates: string[];
  /** Whether the kernel has IOMMU groups (/sys/kernel/iommu_groups not empty) — libvirt's test too. */
  iommu: boolean;
}

export interface HostDetailsOptions {
  sysRoot?: string;
  procRoot?: string;
}

/** The base page of x86-64 (4 KiB): an architecture fact, not a host measurement. */
export const X86_64_BASE_PAGE_KIB = 4;

const HUGEPAGE_DIR = /^hugepages-(\d+)kB$/;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cpuTopology(sysRoot: string): { ids: Map<number, CpuTopologyIds>; dies: number } {
  const cpuDir = join(sysRoot, 'devices/system/cpu');
  const ids = new Map<number, CpuTopologyIds>();
  const diesByPackage = new Map<number, Set<number>>();
  for (const name of list(cpuDir)) {
    const match = /^cpu(\d+)$/.exec(name);
    if (!match) continue;
    const dir = join(cpuDir, name, 'topology');
    const socket = read(join(dir, 'physical_package_id'));
    const core = read(join(dir, 'core_id'));
    const siblings = read(join(dir, 'thread_siblings_list'));
    if (socket === undefined || core === undefined || siblings === undefined) continue;
    const die = Number(read(join(dir, 'die_id')) ?? 0);
    const entry = { socketId: Number(socket), dieId: die, coreId: Number(core), siblings };
    ids.set(Number(match[1]), entry);
    const dies = diesByPackage.get(entry.socketId) ?? new Set<number>();
    dies.add(die);
    diesByPackage.set(entry.socketId, dies);
  }
  return { ids, dies: Math.max(1, ...[...diesByPackage.values()].map((d) => d.size)) };
}

function hugePages(dir: string): PageCount[] {
  return list(dir)
    .map((name) => HUGEPAGE_DIR.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ sizeKiB: Number(m[1]), count: Number(read(join(dir, m[0], 'nr_hugepages')) ?? 0) }))
    .sort((a, b) => a.sizeKiB - b.sizeKiB);
}

function cpuinfoField(cpuinfo: string, key: string): string | undefined {
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const line = first.split('\n').find((l) => new RegExp(`^${key}\\s*:`).test(l));
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** Reads the details from sysfs and procfs. */
export function readHostDetails(options: HostDetailsOptions = {}): HostDetails {
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const topology = cpuTopology(sysRoot);
  const nodeRoot = join(sysRoot, 'devices/system/node');
  const hugePagesByNode = new Map<number, PageCount[]>();
  for (const name of list(nodeRoot)) {
    const match = /^node(\d+)$/.exec(name);
    if (match) hugePagesByNode.set(Number(match[1]), hugePages(join(nodeRoot, name, 'hugepages')));
  }
  const cpuinfo = read(join(procRoot, 'cpuinfo')) ?? '';
  const microcode = cpuinfoField(cpuinfo, 'microcode');
  const physBits = /(\d+) bits physical/.exec(cpuinfoField(cpuinfo, 'address sizes') ?? '')?.[1];
  return {
    cpuTopology: topology.ids,
    diesPerSocket: topology.dies,
    hugePages: hugePages(join(sysRoot, 'kernel/mm/hugepages')),
    hugePagesByNode,
    microcode: microcode !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(microcode) ? Number(microcode) : undefined,
    physAddrBits: physBits === undefined ? undefined : Number(physBits),
    sleepStates: (read(join(sysRoot, 'power/state')) ?? '').split(/\s+/).filter((s) => s !== ''),
    iommu: existsSync(join(sysRoot, 'kernel/iommu_groups')) && list(join(sysRoot, 'kernel/iommu_groups')).length > 0,
  };
}
