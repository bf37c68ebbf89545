/**
 * <capabilities> for host layouts this machine does not have (two NUMA cells, hyperthreads, KVM, huge pages,
 * suspend targets, no libvirt cpu_map): still valid against capability.rng, and saying what the facts say.
 */
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { DomainType } from '../../../gen/hypervisor/v1/domain';
import { renderCapabilitiesXml, type HostDetails } from '../../../server/src/capabilities-xml';
import type { HostFacts } from '../../../server/src/host';
import { libvirtToolsMissing, validate } from './libvirt-tools';

const GiB_KiB = 1024 * 1024;

const host: HostFacts = {
  uuid: '4c4c4544-0042-3510-8052-b4c04f333732',
  uuidSource: 'dmi',
  cpu: {
    arch: 'x86_64',
    vendor: 'GenuineIntel',
    modelName: 'Intel(R) Xeon(R) Platinum 8168 CPU @ 2.70GHz',
    family: 6,
    model: 85,
    stepping: 4,
    signature: 0x50654,
    features: ['fpu', 'vmx', 'sse4_1'],
  },
  topology: { sockets: 2, coresPerSocket: 1, threadsPerCore: 2, onlineCpus: 4, onlineCpuIds: [0, 1, 2, 3] },
  numaCells: [
    { id: 0, memoryBytes: 4 * GiB_KiB * 1024, cpus: [0, 1], distances: [10, 21] },
    { id: 1, memoryBytes: 4 * GiB_KiB * 1024, cpus: [2, 3], distances: [21, 10] },
  ],
  memoryBytes: 8 * GiB_KiB * 1024,
  kvm: { available: true, unavailableReason: '', apiVersion: 12, extensions: [], maxVcpus: 1024, recommendedVcpus: 4 },
  secmodels: [{ model: 'none', doi: '0' }],
  hostname: 'kvm-host',
  kernelRelease: '6.1.0',
};

const details: HostDetails = {
  cpuTopology: new Map([
    [0, { socketId: 0, dieId: 0, coreId: 0, siblings: '0-1' }],
    [1, { socketId: 0, dieId: 0, coreId: 0, siblings: '0-1' }],
    [2, { socketId: 1, dieId: 0, coreId: 0, siblings: '2-3' }],
    [3, { socketId: 1, dieId: 0, coreId: 0, siblings: '2-3' }],
  ]),
  diesPerSocket: 1,
  hugePages: [{ sizeKiB: 2048, count: 512 }],
  hugePagesByNode: new Map([
    [0, [{ sizeKiB: 2048, count: 512 }]],
    [1, [{ sizeKiB: 2048, count: 0 }]],
  ]),
  microcode: 0x2006e05,
  physAddrBits: 46,
  sleepStates: ['freeze', 'mem', 'disk'],
  iommu: true,
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  isArray: (n) => ['cell', 'cpu', 'pages', 'sibling', 'domain', 'machine'].includes(n),
});

const missing = libvirtToolsMissing();

describe.skipIf(missing !== undefined)('renderCapabilitiesXml on a two-cell KVM host without cpu_map', () => {
  const xml = renderCapabilitiesXml({
    host,
    details,
    cpuMap: undefined,
    guests: [
      {
        osType: 'hvm',
        arch: 'x86_64',
        wordsize: 64,
        emulator: '/opt/hv/engine/src/main.js',
        machines: ['hv-microvm'],
        domainTypes: [
          { type: DomainType.DOMAIN_TYPE_EMULATED, available: true, maxVcpus: 1 },
          { type: DomainType.DOMAIN_TYPE_KVM, available: true, maxVcpus: 1024 },
        ],
        features: ['acpi'],
      },
    ],
  });
  const doc = parser.parse(xml).capabilities;

  it('validates against capability.rng', () => {
    expect(validate(xml, 'capability')).toMatchObject({ ok: true });
  });

  it('without cpu_map: no model, no features, the CPUID vendor, and a comment saying why', () => {
    const cpu = doc.host.cpu[0];
    expect(cpu.model).toBeUndefined();
    expect(cpu.feature).toBeUndefined();
    expect(cpu.vendor).toBe('GenuineIntel');
    expect(xml).toMatch(/cpu_map is not installed/);
    expect(cpu.features).toEqual({ vmx: '' });
    expect(cpu.microcode).toEqual({ version: String(0x2006e05) });
    expect(cpu.topology).toEqual({ sockets: '2', dies: '1', cores: '1', threads: '2' });
  });

  it('suspend targets, IOMMU, cells with huge pages and distances', () => {
    expect(Object.keys(doc.host.power_management).sort()).toEqual(['suspend_disk', 'suspend_hybrid', 'suspend_mem']);
    expect(doc.host.iommu).toEqual({ support: 'yes' });
    const cells = doc.host.topology.cells.cell;
    expect(cells).toHaveLength(2);
    expect(cells[0].pages).toEqual([
      { unit: 'KiB', size: '4', '#text': String((4 * GiB_KiB - 512 * 2048) / 4) },
      { unit: 'KiB', size: '2048', '#text': '512' },
    ]);
    expect(cells[1].distances.sibling).toEqual([
      { id: '0', value: '21' },
      { id: '1', value: '10' },
    ]);
    expect(cells[1].cpus.cpu[1]).toEqual({ id: '3', socket_id: '1', die_id: '0', core_id: '0', siblings: '2-3' });
  });

  it('guest: qemu at 1 vCPU on the arch machine, kvm with its own machine bound', () => {
    const arch = doc.guest.arch;
    expect(arch.machine).toEqual([{ maxCpus: '1', '#text': 'hv-microvm' }]);
    expect(arch.domain).toEqual([{ type: 'qemu' }, { type: 'kvm', machine: [{ maxCpus: '1024', '#text': 'hv-microvm' }] }]);
  });
});
