/**
 * virtio-balloon end to end: a real hvd, a domain with a `balloon` device, the engine's virtio-balloon behind
 * virtio-pci, and the test guest's polling driver (proven against QEMU's balloon in
 * test/guests/guest-under-qemu.test.ts). The host sets a target on the engine's control socket (SetBalloonTarget;
 * the public SetMemory comes with hotplug), the guest inflates, GetState and GetDomainStats report the balloon,
 * and — the point of a balloon — the engine's resident memory for guest RAM drops by what the guest gave back.
 */
import { readFileSync } from 'node:fs';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { runDirFor } from '../../engine/src/control/run-dir';
import { EngineServiceClient } from '../../gen/hypervisor/engine/v1/engine_service';
import { DomainState, type DeviceSpec, type DomainSpec } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { hvdPerFile } from '../support/hvd-process';
import { residentBytesOfMapping } from '../support/smaps';

const guests = inject('guests');
const hvd = hvdPerFile();

const MIB = 1024 * 1024;
const PAGE = 4096;
/** An unusual RAM size, so the guest RAM mapping is the only one of its size in the engine's smaps. */
const GUEST_RAM = 72 * MIB;
/** Where the test guest's balloon pool starts (virtio-balloon.c POOL_START). */
const POOL_START = 8 * MIB;

const calls = domainCalls(() => hvd().clients.domains);
const balloon = (statsPeriodSeconds = 0, deflateOnOom = false): DeviceSpec => ({ id: '', kind: { $case: 'balloon', value: { deflateOnOom, statsPeriodSeconds } } });
const balloonSpec = (action: string, devices: DeviceSpec[]): DomainSpec => guestSpec(guests.pvh, `action=${action}`, { memory: { currentBytes: GUEST_RAM }, devices });

/** The engine's own control socket, as hvd reaches it. */
function engineOf(domainId: string) {
  const client = new EngineServiceClient(`unix://${runDirFor(hvd().runDir, domainId).socket}`, credentials.createInsecure());
  return {
    state: () => unaryCall(client.getState.bind(client), {}),
    setTarget: (targetBytes: number) => unaryCall(client.setBalloonTarget.bind(client), { targetBytes }),
    close: () => client.close(),
  };
}

describe('virtio-balloon', () => {
  it('inflates to the target set on the engine: actual in GetState, guest RAM leaves the engine RSS, deflate gives it back', async () => {
    const { domain, console } = await calls.boot(balloonSpec('virtio-balloon', [balloon(1, true)]));
    const engine = engineOf(domain.id);
    const [, poolPages] = (await console.waitFor(/virtio-balloon pool start=0x800000 pages=(\d+)\n/)).map(Number);
    await console.waitFor(/virtio-balloon ready\n/);
    expect(poolPages).toBe((GUEST_RAM - POOL_START) / PAGE);
    expect(console.output).toContain('hv-guest: virtio-balloon features stats=1 deflate-on-oom=1');
    const pid = domain.status!.enginePid;
    const before = residentBytesOfMapping(pid, GUEST_RAM);
    expect(before).toBeGreaterThanOrEqual(poolPages * PAGE); // the guest wrote every page of its pool

    const target = 48 * MIB;
    const set = await engine.setTarget(target);
    expect(set.balloon).toMatchObject({ device: 'balloon0', targetBytes: target });
    await console.waitFor(new RegExp(`virtio-balloon inflated actual=${target / PAGE}\\n`));
    const { balloon: inflated } = await engine.state();
    expect(inflated).toMatchObject({ device: 'balloon0', targetBytes: target, actualBytes: target, reclaimedBytes: target });
    const after = residentBytesOfMapping(pid, GUEST_RAM);
    expect(before - after).toBeGreaterThanOrEqual(target - MIB);

    // Every second the engine asks for statistics; the guest's figures follow its balloon.
    const freeAfterInflate = (poolPages - target / PAGE) * PAGE;
    await expect.poll(async () => (await engine.state()).balloon?.guest?.freeBytes, { timeout: 15_000 }).toBe(freeAfterInflate);
    const { stats } = await unaryCall(hvd().clients.domains.getDomainStats.bind(hvd().clients.domains), { domain: domain.id });
    expect(stats?.balloon).toMatchObject({ device: 'balloon0', actualBytes: target, reclaimedBytes: target });
    expect(stats?.balloon?.guest).toMatchObject({ totalBytes: GUEST_RAM, availableBytes: freeAfterInflate });
    expect(stats?.balloon?.guest?.updateTime).toBeInstanceOf(Date);

    await engine.setTarget(0);
    await console.waitFor(/virtio-balloon deflated actual=0 reused=ok\n/);
    expect((await engine.state()).balloon).toMatchObject({ targetBytes: 0, actualBytes: 0, reclaimedBytes: 0 });
    engine.close();
    await calls.destroy(domain.id);
  });

  it('survives a hostile guest: bad frames and huge lists are logged and ignored, nothing outside guest RAM is discarded', async () => {
    const domain = await calls.create(balloonSpec('virtio-balloon-hostile', [balloon()]), true);
    const console = new ConsoleSession(hvd().clients.domains, { domain: domain.id });
    const engine = engineOf(domain.id);
    // The target the guest's proper inflate reaches, set before its first instruction.
    await engine.setTarget(256 * PAGE);
    await calls.resume(domain.id);
    await console.waitFor(/virtio-balloon hostile done actual=256 rest=intact\n/);
    for (const what of ['outside-ram', 'huge-list', 'ragged-list']) expect(console.output).toContain(`hv-guest: virtio-balloon hostile ${what} used`);
    expect(console.output).toContain('hv-guest: virtio-balloon features stats=0 deflate-on-oom=0');
    // Only the 256 proper frames count; no statistics without a period.
    const { balloon: state, status: live } = await engine.state();
    expect(live?.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(state).toMatchObject({ actualBytes: 256 * PAGE, reclaimedBytes: 256 * PAGE, guest: undefined });
    const log = readFileSync(runDirFor(hvd().runDir, domain.id).stderr, 'utf8');
    expect(log).toMatch(/frame 4294967295 is not a page of guest RAM/);
    expect(log).toMatch(new RegExp(`frame ${GUEST_RAM / PAGE} is not a page of guest RAM`));
    expect(log).toMatch(/names 262144 frames; only the first 65536 are taken/);
    // The ragged list is error 65545: past the first few, the log only summarizes (a guest cannot flood it).
    expect(log).toMatch(/balloon0: 65536 guest errors so far/);
    // The device still serves the guest afterwards.
    await engine.setTarget(0);
    await console.waitFor(/virtio-balloon deflated actual=0 reused=ok\n/);
    engine.close();
    await calls.destroy(domain.id);
  });

  it('SetBalloonTarget refuses targets that are not whole pages or exceed the RAM, and domains without a balloon', async () => {
    const { domain, console } = await calls.boot(balloonSpec('virtio-balloon', [balloon()]));
    await console.waitFor(/virtio-balloon ready\n/);
    const engine = engineOf(domain.id);
    for (const bad of [PAGE + 1, GUEST_RAM + PAGE]) {
      const err = await rejection(engine.setTarget(bad));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/target_bytes/);
    }
    expect((await engine.state()).balloon?.targetBytes).toBe(0);
    engine.close();
    await calls.destroy(domain.id);

    const plain = await calls.create(balloonSpec('spin', []));
    const noBalloon = engineOf(plain.id);
    expect((await rejection(noBalloon.setTarget(PAGE))).code).toBe(status.FAILED_PRECONDITION);
    expect((await noBalloon.state()).balloon).toBeUndefined();
    noBalloon.close();
    await calls.destroy(plain.id);
  });

  it('refuses a statistics period beyond an hour and a second balloon, naming the field', async () => {
    const fields = async (devices: DeviceSpec[]) => fieldViolationsOf((await rejection(calls.create(balloonSpec('poweroff', devices)))) as ServiceError).map((v) => v.field);
    expect(await fields([balloon(3601)])).toEqual(['spec.devices[0].balloon.stats_period_seconds']);
    expect(await fields([balloon(), balloon()])).toEqual(['spec.devices[1]']);
  });
});
