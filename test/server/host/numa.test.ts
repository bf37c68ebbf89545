import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readNumaCells } from '../../../server/src/host/numa';
import { readOnlineCpus } from '../../../server/src/host/topology';
import { bracketed, freeTotalBytes, lscpuField, lscpuParse, sh } from './independent-sources';
import { fixtureTree, type FixtureTree } from './sysfs-fixture';

describe('host NUMA cells (against lscpu and the shell)', () => {
  const fallback = { onlineCpuIds: readOnlineCpus(), memTotalBytes: freeTotalBytes() };
  const cells = readNumaCells('/sys', fallback);

  it('as many cells as lscpu "NUMA node(s)"', () => {
    expect(cells.length).toBe(Number(lscpuField('NUMA node(s)')));
  });

  it('each online CPU is in the cell lscpu puts it in', () => {
    const nodeOf = new Map(cells.flatMap((cell) => cell.cpus.map((cpu) => [cpu, cell.id] as const)));
    for (const [cpu, node] of lscpuParse('CPU,NODE')) {
      // lscpu leaves NODE empty on kernels without NUMA: everything is then in the one cell 0.
      expect(nodeOf.get(Number(cpu)), `cpu ${cpu}`).toBe(node === '' ? 0 : Number(node));
    }
  });

  it.runIf(existsSync('/sys/devices/system/node'))('memory and distances are what the shell reads from sysfs', () => {
    cells.forEach((cell, index) => {
      const dir = `/sys/devices/system/node/node${cell.id}`;
      const awk = () => Number(sh(`echo $(( $(awk '/MemTotal/ { print $4 }' ${dir}/meminfo) * 1024 ))`));
      const { value, around } = bracketed(() => readNumaCells('/sys', fallback)[index]!.memoryBytes, awk);
      expect(around).toContain(value);
      expect(cell.distances.join(' ')).toBe(sh(`cat ${dir}/distance`).replace(/\s+/g, ' '));
    });
  });

  it('a cell is at distance 10 (LOCAL_DISTANCE) from itself', () => {
    const ids = cells.map((c) => c.id);
    for (const cell of cells) expect(cell.distances[ids.indexOf(cell.id)]).toBe(10);
  });
});

describe('NUMA of other layouts (sysfs fixtures)', () => {
  let tree: FixtureTree;
  afterEach(() => tree.remove());

  it('no devices/system/node (kernel without CONFIG_NUMA): one cell with every CPU and all memory', () => {
    tree = fixtureTree();
    tree.write('devices/system/cpu/online', '0-3\n');
    expect(readNumaCells(tree.root, { onlineCpuIds: [0, 1, 2, 3], memTotalBytes: 8 * 2 ** 30 })).toEqual([
      { id: 0, memoryBytes: 8 * 2 ** 30, cpus: [0, 1, 2, 3], distances: [10] },
    ]);
  });

  it('sparse node ids, memory-only node', () => {
    tree = fixtureTree();
    const node = (id: number, cpulist: string, kb: number, distance: string) => {
      tree.write(`devices/system/node/node${id}/cpulist`, `${cpulist}\n`);
      tree.write(`devices/system/node/node${id}/distance`, `${distance}\n`);
      tree.write(
        `devices/system/node/node${id}/meminfo`,
        `Node ${id} MemTotal:       ${kb} kB\nNode ${id} MemFree:        1024 kB\n`,
      );
    };
    node(0, '0-1', 4194304, '10 21');
    node(2, '', 1048576, '21 10');
    tree.write('devices/system/node/online', '0,2\n');
    tree.write('devices/system/node/possible', '0-3\n');
    expect(readNumaCells(tree.root, { onlineCpuIds: [0, 1], memTotalBytes: 0 })).toEqual([
      { id: 0, memoryBytes: 4194304 * 1024, cpus: [0, 1], distances: [10, 21] },
      { id: 2, memoryBytes: 1048576 * 1024, cpus: [], distances: [21, 10] },
    ]);
  });
});
