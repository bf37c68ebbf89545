/**
 * ImportLibvirtXml and ExportLibvirtXml through a real hvd, as a libvirt user moves a domain: export a defined
 * domain with every device kind (valid for libvirt's domain.rng), import it back (same spec; define=true makes
 * it a persistent domain, once per request_id), run a guest imported from a `virsh dumpxml`, and refuse what hv
 * cannot honour by its XML path. hvctl export / import are the same calls from a shell. When network namespaces
 * are available hvd runs in one with a tap, so the nic is real; elsewhere the domain has every other kind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { DomainSpec, DomainState, LifecycleAction, type DeviceSpec } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { createKnownDisk } from '../guests/virtio-disk-image';
import { libvirtToolsMissing, validate } from '../server/capabilities-xml/libvirt-tools';
import { virshDumpxmlSample } from '../server/libvirt-xml/virsh-dumpxml-sample';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { HVCTL_MAIN, startHvd, type HvdUnderTest } from '../support/hvd-process';
import { createNetns, netnsUnavailable, type TestNetns } from '../support/netns';

const guests = inject('guests');
const TAP = 'hvxtap0';
const noNetns = netnsUnavailable();
if (noNetns !== undefined) console.warn(`libvirt-xml: no nic in the domains (${noNetns})`);
const libvirtMissing = libvirtToolsMissing();

let netns: TestNetns | undefined;
let hvd: HvdUnderTest;
const domains = () => hvd.clients.domains;
const calls = domainCalls(domains);

beforeAll(async () => {
  if (noNetns === undefined) {
    netns = createNetns();
    netns.addTap(TAP, '192.0.2.1/24');
  }
  hvd = await startHvd(undefined, [], netns ? { netns: netns.name } : {});
});
afterAll(async () => {
  await hvd?.stop();
  netns?.remove();
});

const exportXml = async (domain: string) => (await unaryCall(domains().exportLibvirtXml.bind(domains()), { domain })).xml;
const importXml = (xml: string, define = false, requestId = '') => unaryCall(domains().importLibvirtXml.bind(domains()), { xml, define, requestId });

/** Every device kind (the nic where a tap exists), with user-chosen ids, labels and lifecycle actions. */
function everyDevice(): DomainSpec {
  const devices: DeviceSpec[] = [
    { id: 'root', kind: { $case: 'disk', value: { path: createKnownDisk(8), readOnly: true, serial: 'ROOT-1' } } },
    { id: 'scratch', kind: { $case: 'disk', value: { path: createKnownDisk(8), readOnly: false, serial: '' } } },
    { id: 'rng0', kind: { $case: 'rng', value: {} } },
    { id: 'console0', kind: { $case: 'console', value: {} } },
    { id: 'balloon0', kind: { $case: 'balloon', value: { deflateOnOom: true, statsPeriodSeconds: 2 } } },
  ];
  if (netns) devices.splice(2, 0, { id: 'net0', kind: { $case: 'nic', value: { tap: TAP, mac: '52:54:00:aa:bb:01' } } });
  return guestSpec(guests.pvh, 'action=pci', {
    devices,
    labels: { owner: 'xml-test' },
    platform: { debugExit: true },
    lifecycle: { onPoweroff: LifecycleAction.LIFECYCLE_ACTION_DESTROY, onReboot: LifecycleAction.LIFECYCLE_ACTION_RESTART, onCrash: LifecycleAction.LIFECYCLE_ACTION_PRESERVE },
  });
}

describe('ExportLibvirtXml / ImportLibvirtXml', () => {
  it('a defined domain with every device kind: exported, undefined, imported back → the same spec; define=true once per request_id', async () => {
    const defined = await calls.define(everyDevice());
    const xml = await exportXml(defined.name);
    if (libvirtMissing === undefined) expect(validate(xml, 'domain')).toMatchObject({ ok: true });
    expect(xml).toContain(`<uuid>${defined.id}</uuid>`);
    await calls.undefine(defined.id);

    const checked = await importXml(xml);
    expect(checked.domain).toBeUndefined();
    expect(DomainSpec.toJSON(checked.spec!)).toEqual(DomainSpec.toJSON(defined.spec!));
    await expect(calls.get(defined.id)).rejects.toMatchObject({ code: status.NOT_FOUND });

    const requestId = `import-${process.pid}`;
    const first = await importXml(xml, true, requestId);
    const retry = await importXml(xml, true, requestId);
    expect(first.domain).toMatchObject({ id: defined.id, name: defined.name, persistent: true, status: { state: DomainState.DOMAIN_STATE_SHUTOFF } });
    expect(retry.domain?.etag).toBe(first.domain?.etag);
    expect(DomainSpec.toJSON(first.domain!.spec!)).toEqual(DomainSpec.toJSON(defined.spec!));
    expect(await exportXml(defined.id)).toBe(xml);
    await calls.undefine(defined.id);
  });

  it('a guest imported from a `virsh dumpxml` boots with its disk and nic; export while running shows its live spec', async () => {
    const disk = createKnownDisk(8);
    const xml = virshDumpxmlSample({ type: 'qemu', memoryKiB: 32768, vcpus: 1, kernel: guests.pvh, initrd: '', cmdline: 'action=pci', disk, tap: TAP });
    const sample = netns ? xml : xml.replace(/<interface[\s\S]*?<\/interface>/, '');
    const { domain } = await importXml(sample, true);
    const kinds = domain!.spec!.devices.map((d) => d.kind?.$case);
    expect(kinds).toEqual(netns ? ['disk', 'nic', 'balloon'] : ['disk', 'balloon']);

    await unaryCall(domains().startDomain.bind(domains()), { domain: domain!.id, paused: true, requestId: '' });
    const console = new ConsoleSession(domains(), { domain: domain!.id });
    // A config change while it runs applies at the next start: the export shows what runs now.
    const withRng = { ...domain!.spec!, devices: [...domain!.spec!.devices, { id: 'rng9', kind: { $case: 'rng' as const, value: {} } }] };
    await unaryCall(domains().updateDomain.bind(domains()), { domain: domain!.id, spec: withRng, etag: '', requestId: '' });
    const running = await exportXml(domain!.name);
    expect(running).toContain(`<source file="${disk}"/>`);
    expect(running).not.toContain('<rng');
    await calls.resume(domain!.id);
    const functions = await console.waitFor(/hv-guest: pci functions=(\d+)/);
    // The host bridge and one virtio function per device.
    expect(Number(functions[1])).toBe(1 + kinds.length);
    expect((await console.ended).closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(await exportXml(domain!.name)).toContain('<alias name="ua-rng9"/>');
    await calls.undefine(domain!.id);
  });

  it('bad XML, unsupported elements and missing files → INVALID_ARGUMENT naming the XML; an unknown domain → NOT_FOUND', async () => {
    const notXml = await rejection(importXml('<domain type="kvm"><name>x</domain>'));
    expect(notXml.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(notXml)).toMatchObject([{ field: 'xml', description: expect.stringContaining('not well-formed') }]);

    const bridge = virshDumpxmlSample({ type: 'qemu', memoryKiB: 32768, vcpus: 1, kernel: guests.pvh, initrd: '' }).replace("<interface type='ethernet'>", "<interface type='bridge'>");
    const bridged = await rejection(importXml(bridge, true));
    expect(bridged.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(bridged).map((v) => v.field)).toEqual(['xml: devices/interface[0]/@type']);

    const noDisk = virshDumpxmlSample({ type: 'qemu', memoryKiB: 32768, vcpus: 1, kernel: guests.pvh, initrd: '', disk: '/nonexistent/disk.img' }).replace(/<interface[\s\S]*?<\/interface>/, '');
    const missing = await rejection(importXml(noDisk));
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(missing)).toMatchObject([{ field: 'xml: devices/disk[0]/source/@file', description: expect.stringContaining('does not exist') }]);

    const unknown = await rejection(exportXml('no-such-domain'));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect((await rejection(exportXml(''))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('hvctl export <domain> and hvctl import <file> [--define]', async () => {
    const defined = await calls.define(guestSpec(guests.pvh, 'action=pci', { devices: [{ id: '', kind: { $case: 'rng', value: {} } }] }));
    const hvctl = (...args: string[]) => spawnSync(process.execPath, [HVCTL_MAIN, '--socket', hvd.socket, ...args], { encoding: 'utf8' });
    const exported = hvctl('export', defined.name);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toBe(await exportXml(defined.id));

    const file = join(mkdtempSync(join(tmpdir(), 'hv-xml-')), 'domain.xml');
    writeFileSync(file, exported.stdout.replace(defined.name, `${defined.name}-copy`).replace(/<uuid>[^<]*<\/uuid>/, ''));
    const spec = JSON.parse(execFileSync(process.execPath, [HVCTL_MAIN, '--socket', hvd.socket, 'import', file], { encoding: 'utf8' }));
    expect(spec).toMatchObject({ name: `${defined.name}-copy`, devices: [{ id: 'rng0', rng: {} }] });
    expect(spec.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const copy = JSON.parse(execFileSync(process.execPath, [HVCTL_MAIN, '--socket', hvd.socket, 'import', file, '--define'], { encoding: 'utf8' }));
    expect(copy).toMatchObject({ name: `${defined.name}-copy`, persistent: true });
    expect(copy.id).not.toBe(defined.id);

    const bad = hvctl('import', '/nonexistent.xml');
    expect(bad.status).not.toBe(0);
    writeFileSync(file, '<domain type="xen"/>');
    const refused = hvctl('import', file);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('xml: @type');
    await calls.undefine(copy.id);
    await calls.undefine(defined.id);
  });
});
