/**
 * virtio-net end to end on a real tap: the test makes its own network namespace with a tap holding the host's
 * address, runs hvd (and so the engine) inside it, and a UDP peer there. The test guest's driver — the one proven
 * against QEMU in test/guests/guest-under-qemu.test.ts — ARPs for the host, sends it UDP, and prints and echoes
 * what the host sends back. Skipped with the reason where network namespaces cannot be made (not root).
 */
import { existsSync, readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { runDirFor } from '../../engine/src/control/run-dir';
import { NET_RX_BACKLOG } from '../../engine/src/virtio/net';
import { DomainState, type DeviceSpec, type Domain } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { expectExchange, GUEST_IP, HOST_IP, NET_PORT, netCmdline, talkToGuest } from '../guests/virtio-net-exchange';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { startHvd, waitFor, type HvdUnderTest } from '../support/hvd-process';
import { createNetns, netnsUnavailable, UdpPeer, type TestNetns } from '../support/netns';

const TAP = 'hvtap0';
const FLOOD = 1000;
const guests = inject('guests');
const noNetns = netnsUnavailable();
if (noNetns !== undefined) console.warn(`virtio-net: skipped, ${noNetns}`);

const nic = (tap: string, mac = ''): DeviceSpec => ({ id: '', kind: { $case: 'nic', value: { tap, mac } } });
const macOf = (domain: Domain): string => {
  const kind = domain.spec!.devices[0].kind;
  return kind?.$case === 'nic' ? kind.value.mac : '';
};
const linesOf = (output: string): string[] => output.split('\n').map((l) => l.replace(/\r$/, ''));

describe.skipIf(noNetns !== undefined)('virtio-net on a host tap', () => {
  let netns: TestNetns;
  let peer: UdpPeer;
  let hvd: HvdUnderTest;
  const calls = domainCalls(() => hvd.clients.domains);

  beforeAll(async () => {
    netns = createNetns();
    netns.addTap(TAP, `${HOST_IP}/24`);
    peer = new UdpPeer(netns, HOST_IP, NET_PORT);
    await peer.started();
    hvd = await startHvd(undefined, [], { netns: netns.name });
  });
  afterAll(async () => {
    await hvd?.stop();
    peer?.stop();
    netns?.remove();
  });
  beforeEach(() => {
    peer.received.length = 0;
  });

  it('gives a nic a stable generated MAC, and carries frames both ways between the guest and the tap', async () => {
    const spec = guestSpec(guests.pvh, netCmdline(), { devices: [nic(TAP)] });
    const first = await calls.define(spec);
    const mac = macOf(first);
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    await calls.undefine(first.id);
    // Derived from the domain uuid and the device index: the same definition gets the same MAC again.
    const defined = await calls.define({ ...spec, uuid: first.spec!.uuid });
    expect(macOf(defined)).toBe(mac);

    netns.addNeighbour(GUEST_IP, mac, TAP);
    await calls.start(defined.id);
    const console = new ConsoleSession(hvd.clients.domains, { domain: defined.id });
    await talkToGuest(peer, mac);
    const ended = await console.ended;
    expect(ended.closed?.state, console.output).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expectExchange(linesOf(console.output), console.output, peer, mac);
    await calls.undefine(defined.id);
  });

  it('refuses a nic on a tap that does not exist, or with a MAC that is not a unicast address, naming the field', async () => {
    const missing = await rejection(calls.create(guestSpec(guests.pvh, netCmdline(), { devices: [nic('hv-no-such')] })));
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(missing).map((v) => [v.field, v.description])).toEqual([['spec.devices[0].nic.tap', 'tap "hv-no-such" does not exist on this host']]);
    for (const mac of ['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '52:54:00:zz:00:01', '52:54:00:00:01']) {
      const bad = await rejection(calls.create(guestSpec(guests.pvh, netCmdline(), { devices: [nic(TAP, mac)] })));
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolationsOf(bad).map((v) => v.field)).toEqual(['spec.devices[0].nic.mac']);
    }
  });

  it('refuses to start a second domain on a tap a running one holds, saying the tap is in use', async () => {
    const holder = await calls.create(guestSpec(guests.pvh, 'action=hlt', { devices: [nic(TAP)] }));
    try {
      const busy = await rejection(calls.create(guestSpec(guests.pvh, 'action=hlt', { devices: [nic(TAP)] })));
      expect(busy.code).toBe(status.FAILED_PRECONDITION);
      expect(busy.details).toContain(`tap "${TAP}" is in use by another process`);
    } finally {
      await calls.destroy(holder.id);
    }
  });

  it('survives a hostile guest: bad transmit chains are refused, and a flood it posts no buffers for is dropped and counted', async () => {
    const mac = '02:00:00:00:be:ef';
    netns.addNeighbour(GUEST_IP, mac, TAP);
    const { domain, console } = await calls.boot(guestSpec(guests.pvh, netCmdline(' net-bad-tx=1 net-hold=1'), { devices: [nic(TAP, mac.toUpperCase())] }), true);
    expect(macOf(domain)).toBe(mac);
    await console.waitFor(/virtio-net holding rx/);
    expect(console.output).toContain('hv-guest: virtio-net bad-tx short=used long=used');

    // The guest has no receive buffer: the engine keeps reading the tap, holds a bounded backlog, drops the rest.
    expect(await peer.flood(GUEST_IP, NET_PORT, 'flood-', FLOOD)).toEqual({ sent: FLOOD, errors: 0 });
    const log = runDirFor(hvd.runDir, domain.id).stderr;
    const engineLog = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    await waitFor(() => engineLog().includes('receive backlog full'), 20_000, 'the engine to drop frames');
    const logged = engineLog(); // a transient domain's run dir goes when it ends
    expect(logged).toContain('frame of 4 bytes refused');
    expect(logged).toContain('frame of 80000 bytes refused');

    console.send('\n');
    await talkToGuest(peer, mac);
    const ended = await console.ended;
    expect(ended.closed?.state, console.output).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    const lines = linesOf(console.output);
    const flooded = lines.filter((l) => / text=flood-\d+$/.test(l)).length;
    // The full backlog reached the guest once it posted buffers; frames read after that too; the rest was dropped.
    expect(flooded, console.output).toBeGreaterThanOrEqual(NET_RX_BACKLOG);
    expect(flooded).toBeLessThan(FLOOD);
    expect(lines).toContain(`hv-guest: virtio-net done udp=${flooded + 3} ignored=0`);
  });
});
