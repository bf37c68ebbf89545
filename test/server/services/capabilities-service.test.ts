/**
 * CapabilitiesService over real gRPC: a grpc-js Server on a unix socket in a temp dir, called with the generated
 * client. Host facts are compared with independent tools (lscpu, free, uname, hostname, opening /dev/kvm).
 */
import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { XMLParser } from 'fast-xml-parser';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CapabilitiesServiceClient,
  CapabilitiesServiceService,
  type Capabilities,
  type DomainCapabilities,
} from '../../../gen/hypervisor/v1/capabilities_service';
import { BootFormat, DomainType } from '../../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../../server/src/errors';
import { createHostProbe, type HostFacts, type HostProbe } from '../../../server/src/host';
import { createCapabilitiesService } from '../../../server/src/services/capabilities-service';
import { domainTypeLimits } from '../../../server/src/services/domain-limits';
import { freeTotalBytes, lscpuField, run, userCpuid } from '../host/independent-sources';
import { libvirtToolsMissing, validate } from '../capabilities-xml/libvirt-tools';

const ENGINE_MAIN = '/opt/hv/dist/engine/src/main.js';

/** A server with the service on a fresh unix socket, and a client connected to it. */
async function serve(probe: HostProbe): Promise<{ client: CapabilitiesServiceClient; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hv-caps-'));
  const server = new Server();
  server.addService(CapabilitiesServiceService, createCapabilitiesService(probe, { engineMain: ENGINE_MAIN }));
  const address = `unix:${join(dir, 'hvd.sock')}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  const client = new CapabilitiesServiceClient(address, credentials.createInsecure());
  return {
    client,
    async close() {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function getCapabilities(client: CapabilitiesServiceClient): Promise<Capabilities> {
  return new Promise((resolve, reject) =>
    client.getCapabilities({}, (err, res) => (err ? reject(err) : resolve(res.capabilities!))),
  );
}

function getDomainCapabilities(client: CapabilitiesServiceClient, type: DomainType): Promise<DomainCapabilities> {
  return new Promise((resolve, reject) =>
    client.getDomainCapabilities({ type }, (err, res) => (err ? reject(err) : resolve(res.capabilities!))),
  );
}

function getDomainCapabilitiesXml(client: CapabilitiesServiceClient, type: DomainType): Promise<string> {
  return new Promise((resolve, reject) =>
    client.getDomainCapabilities({ type }, (err, res) => (err ? reject(err) : resolve(res.xml))),
  );
}

function getCapabilitiesXml(client: CapabilitiesServiceClient): Promise<string> {
  return new Promise((resolve, reject) => client.getCapabilitiesXml({}, (err, res) => (err ? reject(err) : resolve(res.xml))));
}

const xmlParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false });
const libvirtMissing = libvirtToolsMissing();

/** The error a call fails with (the test fails if it succeeds). */
async function failure(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded');
}

function devKvmOpens(): boolean {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

const PAGE = 4096;

/** `free -b` total rounded down to whole 4 KiB guest pages. */
function pagesOfHostMemory(): number {
  return Math.floor(freeTotalBytes() / PAGE) * PAGE;
}

describe('CapabilitiesService on this host (real gRPC over a unix socket)', () => {
  let client: CapabilitiesServiceClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ client, close } = await serve(createHostProbe()));
  });
  afterAll(async () => close());

  describe('GetCapabilities', () => {
    it('host CPU is lscpu\'s', async () => {
      const { cpu } = (await getCapabilities(client)).host!;
      expect(cpu).toMatchObject({
        arch: lscpuField('Architecture'),
        vendor: lscpuField('Vendor ID'),
        // CPUID's brand string, not /proc/cpuinfo's boot-time copy (see test/server/host/cpu.test.ts).
        modelName: userCpuid().brand.trim(),
        family: Number(lscpuField('CPU family')),
        model: Number(lscpuField('Model')),
        stepping: Number(lscpuField('Stepping')),
      });
      expect(cpu!.features).toEqual(lscpuField('Flags').split(/\s+/).filter((f) => f !== ''));
      expect(cpu!.signature).toBe(userCpuid().signature);
    });

    it('topology and NUMA cells are lscpu\'s and getconf\'s', async () => {
      const host = (await getCapabilities(client)).host!;
      expect(host.topology).toEqual({
        sockets: Number(lscpuField('Socket(s)')),
        coresPerSocket: Number(lscpuField('Core(s) per socket')),
        threadsPerCore: Number(lscpuField('Thread(s) per core')),
        onlineCpus: Number(run('getconf', ['_NPROCESSORS_ONLN']).trim()),
      });
      expect(host.numaCells.length).toBe(Number(lscpuField('NUMA node(s)')));
      expect(host.numaCells.flatMap((c) => c.cpus).length).toBe(host.topology!.onlineCpus);
    });

    it('memory, host name and kernel are free\'s, hostname\'s and uname\'s', async () => {
      const before = freeTotalBytes();
      const host = (await getCapabilities(client)).host!;
      expect([before, freeTotalBytes()]).toContain(host.memoryBytes);
      expect(host.hostname).toBe(run('hostname').trim());
      expect(host.kernelRelease).toBe(run('uname', ['-r']).trim());
      expect(host.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(host.secmodels).toEqual([{ model: 'none', doi: '0' }]);
    });

    it('KVM is available exactly when /dev/kvm opens, with a reason naming it when not', async () => {
      const { host, guests } = await getCapabilities(client);
      const opens = devKvmOpens();
      expect(host!.kvm!.available).toBe(opens);
      if (!opens) expect(host!.kvm!.unavailableReason).toMatch(/\/dev\/kvm/);
      const kvmGuest = guests[0]!.domainTypes.find((t) => t.type === DomainType.DOMAIN_TYPE_KVM);
      expect(kvmGuest).toEqual({
        type: DomainType.DOMAIN_TYPE_KVM,
        available: opens,
        unavailableReason: host!.kvm!.unavailableReason,
      });
    });

    it('one x86_64 hvm guest on the hv-microvm machine; EMULATED always available', async () => {
      const { guests } = await getCapabilities(client);
      expect(guests).toHaveLength(1);
      expect(guests[0]).toMatchObject({ osType: 'hvm', arch: 'x86_64', wordsize: 64, machines: ['hv-microvm'] });
      expect(guests[0]!.domainTypes.map((t) => t.type).sort()).toEqual([
        DomainType.DOMAIN_TYPE_KVM,
        DomainType.DOMAIN_TYPE_EMULATED,
      ]);
      expect(guests[0]!.domainTypes.find((t) => t.type === DomainType.DOMAIN_TYPE_EMULATED)).toEqual({
        type: DomainType.DOMAIN_TYPE_EMULATED,
        available: true,
        unavailableReason: '',
      });
      expect(guests[0]!.features).toEqual(['acpi']);
    });
  });

  describe('GetDomainCapabilities', () => {
    it('EMULATED: available, 1 vCPU, host memory in whole pages, PVH, Linux and raw boot, every device kind, debug_exit', async () => {
      const before = pagesOfHostMemory();
      const caps = await getDomainCapabilities(client, DomainType.DOMAIN_TYPE_EMULATED);
      expect([before, pagesOfHostMemory()]).toContain(caps.maxMemoryBytes);
      expect(caps).toEqual({
        type: DomainType.DOMAIN_TYPE_EMULATED,
        available: true,
        unavailableReason: '',
        arch: 'x86_64',
        machine: 'hv-microvm',
        maxVcpus: 1,
        maxMemoryBytes: caps.maxMemoryBytes,
        bootFormats: [BootFormat.BOOT_FORMAT_PVH, BootFormat.BOOT_FORMAT_LINUX, BootFormat.BOOT_FORMAT_RAW],
        deviceKinds: ['disk', 'nic', 'console', 'rng', 'balloon'],
        hotplug: { vcpus: false, memory: false, deviceKinds: [] },
        platformFeatures: ['debug_exit'],
      });
    });

    it('KVM: available exactly when /dev/kvm opens', async () => {
      const before = pagesOfHostMemory();
      const caps = await getDomainCapabilities(client, DomainType.DOMAIN_TYPE_KVM);
      expect([before, pagesOfHostMemory()]).toContain(caps.maxMemoryBytes);
      const opens = devKvmOpens();
      expect(caps.available).toBe(opens);
      if (opens) {
        expect(caps.maxVcpus).toBeGreaterThan(0);
      } else {
        expect(caps.unavailableReason).toMatch(/\/dev\/kvm/);
        expect(caps.maxVcpus).toBe(0);
      }
    });

    it('type UNSPECIFIED is INVALID_ARGUMENT naming "type"', async () => {
      const err = await failure(getDomainCapabilities(client, DomainType.DOMAIN_TYPE_UNSPECIFIED));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      const violations = fieldViolationsOf(err);
      expect(violations).toHaveLength(1);
      expect(violations[0]!.field).toBe('type');
      expect(violations[0]!.description).toMatch(/required/);
    });

    it('an unknown type number is INVALID_ARGUMENT naming "type"', async () => {
      const err = await failure(getDomainCapabilities(client, 7 as DomainType));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolationsOf(err).map((v) => v.field)).toEqual(['type']);
    });
  });

  describe.skipIf(libvirtMissing !== undefined)('libvirt XML forms (checked with virt-xml-validate)', () => {
    it('GetCapabilitiesXml: a valid <capabilities> with lscpu\'s CPU and topology and getconf\'s CPU count', async () => {
      const xml = await getCapabilitiesXml(client);
      expect(validate(xml, 'capability')).toMatchObject({ ok: true });
      const host = xmlParser.parse(xml).capabilities.host;
      expect(host.cpu.arch).toBe(lscpuField('Architecture'));
      expect(host.cpu.signature).toEqual({
        family: lscpuField('CPU family'),
        model: lscpuField('Model'),
        stepping: lscpuField('Stepping'),
      });
      expect(host.cpu.topology.sockets).toBe(lscpuField('Socket(s)'));
      const cells = [host.topology.cells.cell].flat();
      const cpus = cells.flatMap((c: { cpus: { cpu: unknown } }) => [c.cpus.cpu].flat());
      expect(cpus.length).toBe(Number(run('getconf', ['_NPROCESSORS_ONLN']).trim()));
      const guest = xmlParser.parse(xml).capabilities.guest;
      expect(guest.arch.emulator).toBe(ENGINE_MAIN);
      const types = [guest.arch.domain].flat().map((d: { type: string }) => d.type);
      expect(types).toEqual(devKvmOpens() ? ['qemu', 'kvm'] : ['qemu']);
    });

    it('GetDomainCapabilities xml: a valid <domainCapabilities> for each type, agreeing with the message', async () => {
      for (const [type, name] of [
        [DomainType.DOMAIN_TYPE_EMULATED, 'qemu'],
        [DomainType.DOMAIN_TYPE_KVM, 'kvm'],
      ] as const) {
        const [caps, xml] = await Promise.all([getDomainCapabilities(client, type), getDomainCapabilitiesXml(client, type)]);
        expect(validate(xml, 'domaincaps')).toMatchObject({ ok: true });
        const doc = xmlParser.parse(xml).domainCapabilities;
        expect(doc).toMatchObject({ path: ENGINE_MAIN, domain: name, machine: caps.machine, arch: caps.arch });
        if (caps.available) expect(doc.vcpu).toEqual({ max: String(caps.maxVcpus) });
        else expect(doc.vcpu).toBeUndefined();
        expect(doc.os.supported).toBe(caps.available ? 'yes' : 'no');
      }
    });
  });
});

/** A host with KVM, which this machine is not: the KVM branches, through the same gRPC path. */
function kvmHost(kvm: Partial<HostFacts['kvm']>): HostFacts {
  return {
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
      features: ['fpu', 'vmx'],
    },
    topology: { sockets: 2, coresPerSocket: 24, threadsPerCore: 2, onlineCpus: 96, onlineCpuIds: [] },
    numaCells: [],
    memoryBytes: 405_000_000_000 + 1024,
    kvm: {
      available: true,
      unavailableReason: '',
      apiVersion: 12,
      extensions: [{ name: 'KVM_CAP_IRQCHIP', number: 0, value: 1, required: true }],
      maxVcpus: 1024,
      recommendedVcpus: 96,
      ...kvm,
    },
    secmodels: [{ model: 'none', doi: '0' }],
    hostname: 'kvm-host',
    kernelRelease: '6.1.0',
  };
}

describe('CapabilitiesService on a KVM host (fake probe, real gRPC)', () => {
  let client: CapabilitiesServiceClient;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ client, close } = await serve({ host: () => kvmHost({}) }));
  });
  afterAll(async () => close());

  it('reports KVM available with its extensions and limits', async () => {
    const { host, guests } = await getCapabilities(client);
    expect(host!.kvm).toEqual(kvmHost({}).kvm);
    expect(guests[0]!.domainTypes.every((t) => t.available)).toBe(true);
    expect(host!.memoryBytes).toBe(405_000_000_000 + 1024);
  });

  it.skipIf(libvirtMissing !== undefined)('the XML forms list a kvm domain type with its 1024 vCPU bound', async () => {
    const xml = await getCapabilitiesXml(client);
    expect(validate(xml, 'capability')).toMatchObject({ ok: true });
    const domains = xmlParser.parse(xml).capabilities.guest.arch.domain;
    expect(domains).toEqual([{ type: 'qemu' }, { type: 'kvm', machine: { maxCpus: '1024', '#text': 'hv-microvm' } }]);
    const domcaps = await getDomainCapabilitiesXml(client, DomainType.DOMAIN_TYPE_KVM);
    expect(validate(domcaps, 'domaincaps')).toMatchObject({ ok: true });
    expect(xmlParser.parse(domcaps).domainCapabilities.vcpu).toEqual({ max: '1024' });
  });

  it('KVM domains get KVM_CAP_MAX_VCPUS (more than the 96 host CPUs) and page-rounded host memory', async () => {
    const caps = await getDomainCapabilities(client, DomainType.DOMAIN_TYPE_KVM);
    expect(caps).toMatchObject({ available: true, unavailableReason: '', maxVcpus: 1024 });
    expect(caps.maxMemoryBytes).toBe(405_000_001_024 - (405_000_001_024 % PAGE));
  });
});

describe('domainTypeLimits', () => {
  it('KVM without KVM_CAP_MAX_VCPUS falls back to KVM_CAP_NR_VCPUS, then 4 (api.rst)', () => {
    expect(domainTypeLimits(kvmHost({ maxVcpus: 0 }), DomainType.DOMAIN_TYPE_KVM).maxVcpus).toBe(96);
    expect(domainTypeLimits(kvmHost({ maxVcpus: 0, recommendedVcpus: 0 }), DomainType.DOMAIN_TYPE_KVM).maxVcpus).toBe(4);
  });

  it('KVM unavailable: not available, the probe\'s reason, no vCPU bound', () => {
    const host = kvmHost({ available: false, unavailableReason: 'open /dev/kvm: ENOENT' });
    expect(domainTypeLimits(host, DomainType.DOMAIN_TYPE_KVM)).toMatchObject({
      available: false,
      unavailableReason: 'open /dev/kvm: ENOENT',
      maxVcpus: 0,
    });
  });

  it('EMULATED is one vCPU whatever the host', () => {
    expect(domainTypeLimits(kvmHost({}), DomainType.DOMAIN_TYPE_EMULATED)).toMatchObject({ available: true, maxVcpus: 1 });
  });

  it('UNSPECIFIED fits nothing', () => {
    expect(domainTypeLimits(kvmHost({}), DomainType.DOMAIN_TYPE_UNSPECIFIED)).toMatchObject({
      available: false,
      maxVcpus: 0,
      maxMemoryBytes: 0,
    });
  });
});
