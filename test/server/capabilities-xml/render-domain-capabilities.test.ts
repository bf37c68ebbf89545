/** <domainCapabilities> for each domain type, validated by virt-xml-validate against libvirt's domaincaps.rng. */
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { DomainCapabilities } from '../../../gen/hypervisor/v1/capabilities_service';
import { BootFormat, DomainType } from '../../../gen/hypervisor/v1/domain';
import { renderDomainCapabilitiesXml } from '../../../server/src/capabilities-xml';
import { libvirtToolsMissing, validate } from './libvirt-tools';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, isArray: (n) => ['mode', 'enum', 'value'].includes(n) });

function caps(overrides: Partial<DomainCapabilities>): DomainCapabilities {
  return {
    type: DomainType.DOMAIN_TYPE_EMULATED,
    available: true,
    unavailableReason: '',
    arch: 'x86_64',
    machine: 'hv-microvm',
    maxVcpus: 1,
    maxMemoryBytes: 1 << 30,
    bootFormats: [BootFormat.BOOT_FORMAT_PVH],
    deviceKinds: [],
    hotplug: { vcpus: false, memory: false, deviceKinds: [] },
    platformFeatures: [],
    ...overrides,
  };
}

const missing = libvirtToolsMissing();
const EMULATOR = '/opt/hv/engine/src/main.js';

describe.skipIf(missing !== undefined)('renderDomainCapabilitiesXml', () => {
  it('EMULATED is libvirt\'s "qemu" type: validates, vcpu max, os supported, nothing else claimed', () => {
    const xml = renderDomainCapabilitiesXml({ capabilities: caps({}), emulator: EMULATOR });
    expect(validate(xml, 'domaincaps')).toMatchObject({ ok: true });
    const doc = parser.parse(xml).domainCapabilities;
    expect(doc).toMatchObject({ path: EMULATOR, domain: 'qemu', machine: 'hv-microvm', arch: 'x86_64', vcpu: { max: '1' } });
    expect(doc.iothreads).toEqual({ supported: 'no' });
    expect(doc.os).toEqual({ supported: 'yes', loader: { supported: 'no' } });
    expect(doc.cpu.mode.map((m: { name: string; supported: string }) => `${m.name}=${m.supported}`)).toEqual([
      'host-passthrough=no',
      'maximum=no',
      'host-model=no',
      'custom=no',
    ]);
    expect(Object.values(doc.devices).every((d) => (d as { supported: string }).supported === 'no')).toBe(true);
    expect(Object.values(doc.features).every((d) => (d as { supported: string }).supported === 'no')).toBe(true);
  });

  it('KVM unavailable: validates, no vcpu bound, os unsupported, the reason in a comment', () => {
    const xml = renderDomainCapabilitiesXml({
      capabilities: caps({ type: DomainType.DOMAIN_TYPE_KVM, available: false, unavailableReason: 'open /dev/kvm: ENOENT', maxVcpus: 0 }),
      emulator: EMULATOR,
    });
    expect(validate(xml, 'domaincaps')).toMatchObject({ ok: true });
    expect(xml).toMatch(/<!-- kvm domains cannot run on this host: open \/dev\/kvm: ENOENT -->/);
    const doc = parser.parse(xml).domainCapabilities;
    expect(doc.domain).toBe('kvm');
    expect(doc.vcpu).toBeUndefined();
    expect(doc.os.supported).toBe('no');
  });

  it('KVM available with disk and rng built: validates, those devices supported with virtio enums', () => {
    const xml = renderDomainCapabilitiesXml({
      capabilities: caps({ type: DomainType.DOMAIN_TYPE_KVM, maxVcpus: 1024, deviceKinds: ['disk', 'rng', 'nic'] }),
      emulator: EMULATOR,
    });
    expect(validate(xml, 'domaincaps')).toMatchObject({ ok: true });
    const doc = parser.parse(xml).domainCapabilities;
    expect(doc.vcpu).toEqual({ max: '1024' });
    expect(doc.devices.disk.supported).toBe('yes');
    expect(doc.devices.disk.enum.find((e: { name: string }) => e.name === 'bus').value).toEqual(['virtio']);
    expect(doc.devices.rng.supported).toBe('yes');
    expect(doc.devices.graphics.supported).toBe('no');
  });

  it('a type without a libvirt name is refused', () => {
    expect(() => renderDomainCapabilitiesXml({ capabilities: caps({ type: DomainType.DOMAIN_TYPE_UNSPECIFIED }), emulator: EMULATOR })).toThrow(
      /no libvirt name/,
    );
  });
});
