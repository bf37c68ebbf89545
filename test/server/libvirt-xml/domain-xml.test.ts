/**
 * Libvirt domain XML both ways, without a server: what ExportLibvirtXml renders validates against libvirt's
 * domain.rng (virt-xml-validate) and is read back into the same spec — also after libvirt itself (virsh's test
 * driver) has parsed and re-printed it; what ImportLibvirtXml cannot honour is refused by its XML path.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BootFormat, DomainSpec, DomainType, LifecycleAction } from '../../../gen/hypervisor/v1/domain';
import { ApiError } from '../../../server/src/errors';
import { diskTarget, parseDomainXml, renderDomainXml } from '../../../server/src/libvirt-xml';
import { libvirtToolsMissing, validate, virshDefineDumpxml } from '../capabilities-xml/libvirt-tools';
import { virshDumpxmlSample } from './virsh-dumpxml-sample';

const VIRSH_DUMPXML = virshDumpxmlSample();

/** A spec with every device kind and every field libvirt's XML or hv's metadata carries. */
export function fullSpec(): DomainSpec {
  return DomainSpec.fromPartial({
    name: 'web-1',
    uuid: '6f1c6d8e-3c1b-4d7c-9a57-0b4f7b0e2a11',
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1, max: 2 },
    memory: { currentBytes: 64 << 20, maxBytes: 128 << 20 },
    boot: { kernelPath: '/images/guest.bin', cmdline: 'console=ttyS0 quote="x" amp=& lt=<', format: BootFormat.BOOT_FORMAT_RAW, loadAddress: 0x100000, entryAddress: 0x100040 },
    lifecycle: { onPoweroff: LifecycleAction.LIFECYCLE_ACTION_DESTROY, onReboot: LifecycleAction.LIFECYCLE_ACTION_RESTART, onCrash: LifecycleAction.LIFECYCLE_ACTION_PRESERVE },
    platform: { debugExit: true },
    labels: { team: 'infra', tier: 'web & db' },
    devices: [
      { id: 'root', kind: { $case: 'disk', value: { path: '/images/root.img', readOnly: true, serial: 'ROOT-1' } } },
      { id: 'rng0', kind: { $case: 'rng', value: {} } },
      { id: 'data', kind: { $case: 'disk', value: { path: '/images/data.img', readOnly: false, serial: '' } } },
      { id: 'nic0', kind: { $case: 'nic', value: { tap: 'tap-web1', mac: '52:54:00:12:34:56' } } },
      { id: 'console0', kind: { $case: 'console', value: {} } },
      { id: 'balloon0', kind: { $case: 'balloon', value: { deflateOnOom: true, statsPeriodSeconds: 5 } } },
    ],
  });
}

/** The violations an import is refused with, as "field → description". */
function refusal(xml: string): Record<string, string> {
  try {
    parseDomainXml(xml);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(status.INVALID_ARGUMENT);
    return Object.fromEntries((err as ApiError).fieldViolations.map((v) => [v.field, v.description]));
  }
  throw new Error('the document was accepted');
}

/** A minimal importable document with `devices` and `extra` top-level elements. */
const doc = (devices: string, extra = '', type = 'qemu') =>
  `<domain type='${type}'><name>d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
  `<os><type arch='x86_64'>hvm</type><kernel>/k</kernel></os>${extra}<devices>${devices}</devices></domain>`;

const missing = libvirtToolsMissing();

describe('renderDomainXml / parseDomainXml', () => {
  it('round trip: every device kind, hv metadata, labels and device order come back unchanged', () => {
    const spec = fullSpec();
    expect(DomainSpec.toJSON(parseDomainXml(renderDomainXml(spec)).spec)).toEqual(DomainSpec.toJSON(spec));
  });

  it('writes libvirt\'s elements: KiB sizes, vcpu current/max, direct kernel boot, virtio devices, COM1 and pvpanic', () => {
    const xml = renderDomainXml(fullSpec());
    expect(xml).toContain('<domain type="qemu">');
    expect(xml).toContain('<memory unit="KiB">65536</memory>');
    expect(xml).toContain('<currentMemory unit="KiB">65536</currentMemory>');
    expect(xml).toContain('<maxMemory unit="KiB" slots="1">131072</maxMemory>');
    expect(xml).toContain('<vcpu placement="static" current="1">2</vcpu>');
    expect(xml).toContain('<cmdline>console=ttyS0 quote=&quot;x&quot; amp=&amp; lt=&lt;</cmdline>');
    expect(xml).toMatch(/<disk type="file" device="disk">\s*<driver name="qemu" type="raw"\/>\s*<source file="\/images\/root.img"\/>\s*<target dev="vda" bus="virtio"\/>\s*<readonly\/>\s*<serial>ROOT-1<\/serial>/);
    expect(xml).toMatch(/<interface type="ethernet">\s*<mac address="52:54:00:12:34:56"\/>\s*<target dev="tap-web1" managed="no"\/>\s*<model type="virtio"\/>/);
    expect(xml).toMatch(/<console type="pty">\s*<target type="virtio" port="0"\/>/);
    expect(xml).toMatch(/<rng model="virtio">\s*<backend model="random">\/dev\/urandom<\/backend>/);
    expect(xml).toMatch(/<memballoon model="virtio" autodeflate="on">\s*<alias name="ua-balloon0"\/>\s*<stats period="5"\/>/);
    expect(xml).toMatch(/<serial type="pty">\s*<target port="0"\/>/);
    expect(xml).toMatch(/<panic model="isa">\s*<address type="isa" iobase="0x505"\/>/);
    expect(xml).toContain('<on_crash>preserve</on_crash>');
  });

  it('a domain without a balloon says so (libvirt would add one), and unset lifecycle actions are left out', () => {
    const spec = DomainSpec.fromPartial({ ...fullSpec(), devices: [], lifecycle: undefined, type: DomainType.DOMAIN_TYPE_KVM });
    const xml = renderDomainXml(spec);
    expect(xml).toContain('<domain type="kvm">');
    expect(xml).toContain('<memballoon model="none"/>');
    expect(xml).not.toContain('<on_poweroff>');
    expect(DomainSpec.toJSON(parseDomainXml(xml).spec)).toEqual(DomainSpec.toJSON(spec));
  });

  it('disk targets are named as libvirt names them', () => {
    expect([0, 1, 25, 26, 27, 30].map(diskTarget)).toEqual(['vda', 'vdb', 'vdz', 'vdaa', 'vdab', 'vdae']);
  });

  describe.skipIf(missing !== undefined)('judged by libvirt', () => {
    it('validates against libvirt\'s domain.rng (virt-xml-validate), with and without optional parts', () => {
      for (const spec of [fullSpec(), DomainSpec.fromPartial({ ...fullSpec(), devices: [], labels: {}, platform: undefined, boot: { kernelPath: '/k' } })]) {
        expect(validate(renderDomainXml(spec), 'domain')).toMatchObject({ ok: true });
      }
    });

    it('the virsh dumpxml sample below is one libvirt accepts (so the import test reads a realistic document)', () => {
      expect(validate(VIRSH_DUMPXML, 'domain')).toMatchObject({ ok: true });
    });

    it('libvirt parses the export and prints it back (virsh define; dumpxml): importing that gives the same spec', () => {
      const spec = fullSpec();
      const reprinted = virshDefineDumpxml(renderDomainXml(spec), spec.name);
      expect(reprinted).toContain("<alias name='ua-root'/>");
      // libvirt prints devices grouped by kind in its own order, keeping their order within a kind.
      const kindOrder = ['disk', 'nic', 'console', 'balloon', 'rng'];
      const libvirtOrder = [...spec.devices].sort((a, b) => kindOrder.indexOf(a.kind!.$case) - kindOrder.indexOf(b.kind!.$case));
      expect(DomainSpec.toJSON(parseDomainXml(reprinted).spec)).toEqual(DomainSpec.toJSON({ ...spec, devices: libvirtOrder }));
    });
  });

  it('imports a typical `virsh dumpxml` of a direct-kernel-boot guest (libvirt\'s additions ignored)', () => {
    const { spec } = parseDomainXml(VIRSH_DUMPXML);
    expect(DomainSpec.toJSON(spec)).toEqual(
      DomainSpec.toJSON(
        DomainSpec.fromPartial({
          name: 'alpine-direct',
          uuid: '3b5e8c1a-9f2d-4b7e-8a61-2c4d5e6f7a80',
          type: DomainType.DOMAIN_TYPE_KVM,
          vcpus: { current: 2, max: 2 },
          memory: { currentBytes: 512 << 20 },
          boot: { kernelPath: '/var/lib/libvirt/boot/vmlinuz-virt', initrdPath: '/var/lib/libvirt/boot/initramfs-virt', cmdline: 'console=ttyS0 root=/dev/vda rw' },
          lifecycle: { onPoweroff: LifecycleAction.LIFECYCLE_ACTION_DESTROY, onReboot: LifecycleAction.LIFECYCLE_ACTION_RESTART, onCrash: LifecycleAction.LIFECYCLE_ACTION_DESTROY },
          devices: [
            { kind: { $case: 'disk', value: { path: '/var/lib/libvirt/images/alpine.img' } } },
            { kind: { $case: 'nic', value: { tap: 'tap0', mac: '52:54:00:6b:3c:58' } } },
            { kind: { $case: 'balloon', value: {} } },
          ],
        }),
      ),
    );
  });

  it('refuses what a user would rely on and hv does not do, naming the element or attribute', () => {
    expect(refusal(doc("<interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>"))).toEqual({
      'xml: devices/interface[0]/@type': expect.stringContaining('"bridge" interfaces are not supported'),
    });
    expect(Object.keys(refusal(doc("<disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vda' bus='virtio'/></disk>")))).toEqual([
      'xml: devices/disk[0]/@type',
    ]);
    expect(Object.keys(refusal(doc("<disk type='file' device='cdrom'><driver name='qemu' type='qcow2'/><source file='/a'/><target dev='sda' bus='sata'/></disk>")))).toEqual([
      'xml: devices/disk[0]/@device',
      'xml: devices/disk[0]/driver/@type',
      'xml: devices/disk[0]/target/@bus',
    ]);
    expect(Object.keys(refusal(doc("<hostdev mode='subsystem' type='pci'/><graphics type='vnc'/><video><model type='vga'/></video>")))).toEqual([
      'xml: devices/hostdev[0]',
      'xml: devices/graphics[0]',
      'xml: devices/video[0]',
    ]);
    expect(Object.keys(refusal(doc('').replace('<kernel>/k</kernel>', "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>")))).toEqual(['xml: os/loader']);
    expect(Object.keys(refusal(doc("<serial type='file'><source path='/tmp/log'/></serial><console type='pty'><target type='sclp'/></console>", '<on_crash>coredump-destroy</on_crash><bootloader>/usr/bin/pygrub</bootloader>', 'xen')))).toEqual([
      'xml: @type',
      'xml: on_crash',
      'xml: bootloader',
      'xml: devices/serial[0]/@type',
      'xml: devices/console[0]/target/@type',
    ]);
    expect(Object.keys(refusal(doc("<interface type='ethernet'><target dev='tap0'/><model type='e1000'/><filterref filter='clean-traffic'/></interface>")))).toEqual([
      'xml: devices/interface[0]/filterref',
      'xml: devices/interface[0]/model/@type',
    ]);
    expect(refusal(doc('', "<currentMemory unit='MiB'>32</currentMemory>"))).toEqual({ 'xml: currentMemory': expect.stringContaining('must equal <memory>') });
    expect(refusal(doc('').replace("unit='MiB'>64", "unit='furlongs'>64"))).toEqual({ 'xml: memory': expect.stringContaining('unknown unit') });
  });

  it('ignores what changes nothing for hv (clock, features, cpu, on_lockfailure, controllers, inputs)', () => {
    const extra = "<clock offset='utc'/><features><acpi/><apic/></features><cpu mode='host-passthrough'/><on_lockfailure>poweroff</on_lockfailure><pm><suspend-to-mem enabled='no'/></pm>";
    const devices = "<emulator>/usr/bin/qemu-system-x86_64</emulator><controller type='usb' model='none'/><input type='keyboard' bus='ps2'/><audio id='1' type='none'/><video><model type='none'/></video>";
    expect(parseDomainXml(doc(devices, extra)).spec.devices).toEqual([]);
  });

  it('refuses documents that are not one well-formed <domain>, and any DOCTYPE (no entity expansion)', () => {
    expect(refusal('')).toEqual({ xml: expect.stringContaining('required') });
    expect(refusal('<domain type="kvm"><name>x</domain>')).toEqual({ xml: expect.stringContaining('not well-formed XML') });
    expect(refusal('<capabilities/>')).toEqual({ xml: expect.stringContaining('must be <domain>') });
    expect(refusal('<domain/><domain/>')).toEqual({ xml: expect.stringContaining('one root element') });
    const xxe = `<?xml version="1.0"?><!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain type='kvm'><name>&x;</name></domain>`;
    expect(refusal(xxe)).toEqual({ xml: expect.stringContaining('DOCTYPE') });
    const deep = `<domain type='kvm'><metadata>${'<a>'.repeat(20000)}${'</a>'.repeat(20000)}</metadata></domain>`;
    expect(refusal(deep)).toEqual({ xml: expect.stringContaining('nested') });
  });

  it('moves validation errors on spec fields to the XML they came from', () => {
    const parsed = parseDomainXml(doc("<disk type='file' device='disk'><source file='/nope'/><target dev='vda'/></disk>"));
    const err = new ApiError(status.INVALID_ARGUMENT, 'x', [
      { field: 'spec.devices[0].disk.path', description: '/nope does not exist' },
      { field: 'spec.memory.current_bytes', description: 'too small' },
      { field: 'spec.boot.kernel_path', description: 'not an ELF' },
      { field: 'spec.devices[0].disk.weird', description: 'w' },
    ]);
    expect((parsed.relocate(err) as ApiError).fieldViolations).toEqual([
      { field: 'xml: devices/disk[0]/source/@file', description: '/nope does not exist' },
      { field: 'xml: memory', description: 'too small' },
      { field: 'xml: os/kernel', description: 'not an ELF' },
      { field: 'xml: devices/disk[0]', description: 'w (spec.devices[0].disk.weird)' },
    ]);
  });
});
