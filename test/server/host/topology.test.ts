import { afterEach, describe, expect, it } from 'vitest';
import { parseCpuList } from '../../../server/src/host/cpu-list';
import { readOnlineCpus, readTopology } from '../../../server/src/host/topology';
import { lscpuField, lscpuParse, run, sh } from './independent-sources';
import { fixtureTree, writeCpuTopology, type FixtureTree } from './sysfs-fixture';

describe('parseCpuList', () => {
  it.each([
    ['', []],
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['0-1,4,6-7\n', [0, 1, 4, 6, 7]],
  ])('"%s"', (text, ids) => {
    expect(parseCpuList(text)).toEqual(ids);
  });

  it('rejects what the kernel never prints', () => {
    expect(() => parseCpuList('3-1')).toThrow(/reversed/);
    expect(() => parseCpuList('a')).toThrow(/malformed/);
  });
});

describe('host topology (against lscpu, getconf, nproc)', () => {
  const topology = readTopology();

  it('online CPUs are getconf _NPROCESSORS_ONLN and lscpu --online', () => {
    expect(topology.onlineCpus).toBe(Number(run('getconf', ['_NPROCESSORS_ONLN']).trim()));
    expect(topology.onlineCpuIds).toEqual(lscpuParse('CPU').map(([cpu]) => Number(cpu)));
  });

  it('nproc (CPUs this process may use) is at most the online CPUs', () => {
    const nproc = Number(run('nproc').trim());
    expect(nproc).toBeGreaterThan(0);
    expect(nproc).toBeLessThanOrEqual(topology.onlineCpus);
  });

  it('sockets, cores per socket and threads per core are lscpu\'s', () => {
    expect(topology.sockets).toBe(Number(lscpuField('Socket(s)')));
    expect(topology.coresPerSocket).toBe(Number(lscpuField('Core(s) per socket')));
    expect(topology.threadsPerCore).toBe(Number(lscpuField('Thread(s) per core')));
  });

  it('sockets × cores × threads covers the online CPUs on a uniform host', () => {
    const distinctSockets = new Set(lscpuParse('SOCKET').map(([socket]) => socket)).size;
    expect(topology.sockets).toBe(distinctSockets);
    expect(topology.sockets * topology.coresPerSocket * topology.threadsPerCore).toBe(topology.onlineCpus);
  });

  it('reads the online list the shell reads', () => {
    const online = sh('cat /sys/devices/system/cpu/online');
    // Expand the shell's text with seq, independently of parseCpuList.
    const expanded = online
      .split(',')
      .flatMap((part) => run('seq', part.split('-').length === 2 ? part.split('-') : [part, part]).trim().split('\n'))
      .map(Number);
    expect(readOnlineCpus()).toEqual(expanded);
  });
});

describe('topology of other layouts (sysfs fixtures)', () => {
  let tree: FixtureTree;
  afterEach(() => tree.remove());

  /** Two sockets of two hyperthreaded cores, numbered as Intel hosts enumerate: first threads, then siblings. */
  function twoSocketsSmt(online: string): void {
    tree = fixtureTree();
    tree.write('devices/system/cpu/online', `${online}\n`);
    const cores = [
      { packageId: 0, coreId: 0, threadSiblings: '0,4' },
      { packageId: 0, coreId: 1, threadSiblings: '1,5' },
      { packageId: 1, coreId: 0, threadSiblings: '2,6' },
      { packageId: 1, coreId: 1, threadSiblings: '3,7' },
    ];
    for (let cpu = 0; cpu < 8; cpu++) writeCpuTopology(tree, cpu, cores[cpu % 4]!);
  }

  it('2 sockets × 2 cores × 2 threads, core ids repeating per socket', () => {
    twoSocketsSmt('0-7');
    expect(readTopology(tree.root)).toEqual({
      sockets: 2,
      coresPerSocket: 2,
      threadsPerCore: 2,
      onlineCpus: 8,
      onlineCpuIds: [0, 1, 2, 3, 4, 5, 6, 7],
    });
  });

  it('hyperthreads offline: one thread per core', () => {
    twoSocketsSmt('0-3');
    expect(readTopology(tree.root)).toMatchObject({ sockets: 2, coresPerSocket: 2, threadsPerCore: 1, onlineCpus: 4 });
  });

  it('a socket entirely offline is not counted', () => {
    twoSocketsSmt('0-1,4-5');
    expect(readTopology(tree.root)).toMatchObject({ sockets: 1, coresPerSocket: 2, threadsPerCore: 2, onlineCpus: 4 });
  });
});
