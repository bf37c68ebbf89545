import { afterEach, describe, expect, it } from 'vitest';
import { createHostProbe, type CpuidFn, type KvmProbeFn } from '../../../server/src/host';
import { fixtureTree, type FixtureTree } from './sysfs-fixture';

describe('createHostProbe caching', () => {
  let tree: FixtureTree;
  afterEach(() => tree.remove());

  function setUp() {
    tree = fixtureTree();
    tree.write('proc/cpuinfo', 'processor\t: 0\nflags\t\t: fpu lm\n\n');
    tree.write('proc/meminfo', 'MemTotal:        1048576 kB\n');
    tree.write('sys/devices/system/cpu/online', '0\n');
    for (const cpu of [0, 1]) {
      const dir = `sys/devices/system/cpu/cpu${cpu}/topology`;
      tree.write(`${dir}/physical_package_id`, '0\n');
      tree.write(`${dir}/core_id`, `${cpu}\n`);
      tree.write(`${dir}/thread_siblings_list`, `${cpu}\n`);
    }
    tree.write('etc/machine-id', '0123456789abcdef0123456789abcdef\n');
    const calls = { cpuid: 0, kvm: 0 };
    const cpuid: CpuidFn = (leaf) => {
      calls.cpuid++;
      return leaf === 1 ? [0x00b00f21, 0, 0, 0] : [0, 0, 0, 0];
    };
    const probeKvm: KvmProbeFn = () => {
      calls.kvm++;
      return { available: false, reason: 'cannot open /dev/kvm: ENOENT', extensions: [] };
    };
    const probe = createHostProbe({
      sysRoot: `${tree.root}/sys`,
      procRoot: `${tree.root}/proc`,
      machineIdPaths: [`${tree.root}/etc/machine-id`],
      cpuid,
      probeKvm,
    });
    return { probe, calls };
  }

  it('reads CPUID and KVM once', () => {
    const { probe, calls } = setUp();
    const first = probe.host();
    const afterFirst = { ...calls };
    probe.host();
    expect(afterFirst.cpuid).toBeGreaterThan(0);
    expect(afterFirst.kvm).toBe(1);
    expect(calls).toEqual(afterFirst);
    expect(first.cpu).toMatchObject({ family: 26, model: 2, stepping: 1, signature: 0x00b00f21, features: ['fpu', 'lm'] });
  });

  it('re-reads memory and online CPUs on every call', () => {
    const { probe } = setUp();
    expect(probe.host()).toMatchObject({ memoryBytes: 2 ** 30, topology: { onlineCpus: 1, coresPerSocket: 1 } });
    tree.write('proc/meminfo', 'MemTotal:        2097152 kB\n');
    tree.write('sys/devices/system/cpu/online', '0-1\n');
    const host = probe.host();
    expect(host).toMatchObject({ memoryBytes: 2 * 2 ** 30, topology: { onlineCpus: 2, coresPerSocket: 2, sockets: 1 } });
    // No devices/system/node in the fixture: one cell holding everything.
    expect(host.numaCells).toEqual([{ id: 0, memoryBytes: 2 * 2 ** 30, cpus: [0, 1], distances: [10] }]);
  });

  it('re-reads NUMA cell memory on every call', () => {
    const { probe } = setUp();
    const node0 = (kb: number) => tree.write('sys/devices/system/node/node0/meminfo', `Node 0 MemTotal: ${kb} kB\n`);
    tree.write('sys/devices/system/node/node0/cpulist', '0\n');
    tree.write('sys/devices/system/node/node0/distance', '10\n');
    node0(512 * 1024);
    expect(probe.host().numaCells).toEqual([{ id: 0, memoryBytes: 2 ** 29, cpus: [0], distances: [10] }]);
    node0(768 * 1024);
    expect(probe.host().numaCells[0]!.memoryBytes).toBe(3 * 2 ** 28);
  });

  it('hands out copies: editing an answer does not change the next one', () => {
    const { probe } = setUp();
    const first = probe.host();
    first.cpu.features.push('bogus');
    first.numaCells[0]!.cpus.push(99);
    first.topology.onlineCpuIds.push(99);
    const second = probe.host();
    expect(second.cpu.features).toEqual(['fpu', 'lm']);
    expect(second.numaCells[0]!.cpus).toEqual([0]);
    expect(second.topology.onlineCpuIds).toEqual([0]);
  });

  it('reports no security model, as libvirt without a security driver', () => {
    const { probe } = setUp();
    expect(probe.host().secmodels).toEqual([{ model: 'none', doi: '0' }]);
  });
});
