import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpuList } from './cpu-list';
import { parseMeminfoBytes } from './memory';

/** One NUMA cell (node) of the host. */
export interface NumaCellFacts {
  /** Node id (the N of nodeN). */
  id: number;
  /** MemTotal of the node. */
  memoryBytes: number;
  /** Logical CPUs of the node, ascending. */
  cpus: number[];
  /** The node's distance line: one entry per online node, in node id order (ACPI SLIT as the kernel reports it). */
  distances: number[];
}

/** Where sysfs keeps NUMA nodes (Documentation/ABI/stable/sysfs-devices-node). */
const NODE_DIR = 'devices/system/node';
/** Node directories are named nodeN. */
const NODE_NAME = /^node(\d+)$/;
/** The distance a node has to itself in ACPI SLIT terms (LOCAL_DISTANCE in include/linux/topology.h). */
const LOCAL_DISTANCE = 10;

/**
 * The NUMA cells of <sysRoot>/devices/system/node/node*: cpulist, meminfo MemTotal and distance of each.
 * A kernel built without CONFIG_NUMA has no devices/system/node at all; the host is then one cell holding every
 * online CPU and all of MemTotal, at the local distance to itself (libvirt reports the same single cell).
 */
export function readNumaCells(
  sysRoot: string,
  fallback: { onlineCpuIds: number[]; memTotalBytes: number },
): NumaCellFacts[] {
  const nodeRoot = join(sysRoot, NODE_DIR);
  if (!existsSync(nodeRoot)) {
    return [{ id: 0, memoryBytes: fallback.memTotalBytes, cpus: [...fallback.onlineCpuIds], distances: [LOCAL_DISTANCE] }];
  }
  const ids = readdirSync(nodeRoot)
    .map((name) => NODE_NAME.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return ids.map((id) => {
    const dir = join(nodeRoot, `node${id}`);
    return {
      id,
      memoryBytes: parseMeminfoBytes(readFileSync(join(dir, 'meminfo'), 'utf8'), 'MemTotal'),
      cpus: parseCpuList(readFileSync(join(dir, 'cpulist'), 'utf8')),
      distances: readFileSync(join(dir, 'distance'), 'utf8').trim().split(/\s+/).filter((d) => d !== '').map(Number),
    };
  });
}
