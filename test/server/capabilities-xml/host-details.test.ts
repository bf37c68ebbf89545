/** readHostDetails on a fake sysfs/procfs tree: the layouts this machine does not have. */
import { afterEach, describe, expect, it } from 'vitest';
import { readHostDetails } from '../../../server/src/capabilities-xml';
import { fixtureTree, writeCpuTopology, type FixtureTree } from '../host/sysfs-fixture';

describe('readHostDetails', () => {
  let tree: FixtureTree;
  afterEach(() => tree.remove());

  it('reads topology ids, dies, huge pages, microcode, address bits, sleep states and IOMMU groups', () => {
    tree = fixtureTree();
    for (const [cpu, die] of [[0, 0], [1, 0], [2, 1], [3, 1]] as const) {
      writeCpuTopology(tree, cpu, { packageId: 0, coreId: cpu >> 1, threadSiblings: cpu < 2 ? '0-1' : '2-3' });
      tree.write(`devices/system/cpu/cpu${cpu}/topology/die_id`, `${die}\n`);
    }
    tree.write('devices/system/cpu/cpu4/online', '0\n'); // offline: no topology/
    tree.write('kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '8\n');
    tree.write('kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages', '0\n');
    tree.write('devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages', '8\n');
    tree.write('proc/cpuinfo', 'processor\t: 0\nmicrocode\t: 0xb000040\naddress sizes\t: 46 bits physical, 57 bits virtual\n\nprocessor\t: 1\n');
    tree.write('power/state', 'freeze mem disk\n');
    tree.write('kernel/iommu_groups/0/type', 'DMA\n');
    const details = readHostDetails({ sysRoot: tree.root, procRoot: `${tree.root}/proc` });
    expect(details.cpuTopology.get(2)).toEqual({ socketId: 0, dieId: 1, coreId: 1, siblings: '2-3' });
    expect(details.cpuTopology.has(4)).toBe(false);
    expect(details.diesPerSocket).toBe(2);
    expect(details.hugePages).toEqual([
      { sizeKiB: 2048, count: 8 },
      { sizeKiB: 1048576, count: 0 },
    ]);
    expect(details.hugePagesByNode.get(0)).toEqual([{ sizeKiB: 2048, count: 8 }]);
    expect(details.microcode).toBe(0xb000040);
    expect(details.physAddrBits).toBe(46);
    expect(details.sleepStates).toEqual(['freeze', 'mem', 'disk']);
    expect(details.iommu).toBe(true);
  });

  it('reports absent what is not there: no die_id, microcode, power state or IOMMU groups', () => {
    tree = fixtureTree();
    writeCpuTopology(tree, 0, { packageId: 0, coreId: 0, threadSiblings: '0' });
    tree.write('proc/cpuinfo', 'processor\t: 0\n');
    const details = readHostDetails({ sysRoot: tree.root, procRoot: `${tree.root}/proc` });
    expect(details.cpuTopology.get(0)).toEqual({ socketId: 0, dieId: 0, coreId: 0, siblings: '0' });
    expect(details.diesPerSocket).toBe(1);
    expect(details.hugePages).toEqual([]);
    expect(details.microcode).toBeUndefined();
    expect(details.physAddrBits).toBeUndefined();
    expect(details.sleepStates).toEqual([]);
    expect(details.iommu).toBe(false);
  });
});
