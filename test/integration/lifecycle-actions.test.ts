/**
 * on_poweroff / on_reboot / on_crash as a user sees them through a real hvd and real engines running the test
 * guest: the engine's stop cause decides which action applies (a reboot never falls under on_poweroff), a RESTART
 * keeps the domain active between its two engines (never SHUTOFF), and PRESERVE keeps the engine with its memory,
 * console and socket — across an hvd restart too — until DestroyDomain ends it or ResetDomain boots it again.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { DomainSpec, DomainState, DomainStateReason, LifecycleAction, type Domain } from '../../gen/hypervisor/v1/domain';
import { LifecycleEventType, type DomainEvent } from '../../gen/hypervisor/v1/events';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { lifecycleType, watchEvents } from '../support/event-watch';
import { isAlive, startHvd, waitFor, type HvdUnderTest } from '../support/hvd-process';

const guests = inject('guests');
let hvd: HvdUnderTest;

beforeAll(async () => {
  hvd = await startHvd();
});
afterAll(async () => {
  await hvd?.stop();
});

const { DESTROY, RESTART, PRESERVE } = {
  DESTROY: LifecycleAction.LIFECYCLE_ACTION_DESTROY,
  RESTART: LifecycleAction.LIFECYCLE_ACTION_RESTART,
  PRESERVE: LifecycleAction.LIFECYCLE_ACTION_PRESERVE,
};
const d = () => hvd.clients.domains;
const { define, start, get, destroy, undefine } = domainCalls(d);
const spec = (cmdline: string, lifecycle: Partial<NonNullable<DomainSpec['lifecycle']>>) =>
  guestSpec(guests.pvh, cmdline, { lifecycle: { onPoweroff: 0, onReboot: 0, onCrash: 0, ...lifecycle } });
const list = async (states: DomainState[] = []) => (await unaryCall(d().listDomains.bind(d()), { pageSize: 1000, pageToken: '', states })).domains;
const stats = async (domain: string) => (await unaryCall(d().getDomainStats.bind(d()), { domain })).stats!;
const reset = async (domain: string) => (await unaryCall(d().resetDomain.bind(d()), { domain, requestId: '' })).domain!;
const lifecycleOf = (events: DomainEvent[], id: string) =>
  events.filter((e) => e.domainId === id && e.kind?.$case === 'lifecycle').map((e) => (e.kind as { value: { type: LifecycleEventType; state: DomainState; reason: DomainStateReason } }).value);
const count = (events: DomainEvent[], id: string, type: LifecycleEventType) => lifecycleOf(events, id).filter((e) => e.type === type).length;

/** Destroys a domain that may be between two engines (a restart in progress), then undefines it. */
async function destroyAndUndefine(id: string): Promise<Domain> {
  let destroyed: Domain | undefined;
  for (let i = 0; i < 100 && !destroyed; i++) {
    destroyed = await destroy(id).catch(async () => {
      await new Promise((r) => setTimeout(r, 50));
      return undefined;
    });
  }
  await undefine(id);
  return destroyed!;
}

describe('reboot or power-off: the engine says which', () => {
  it('a guest reboot under on_reboot DESTROY stops the domain, although on_poweroff is RESTART', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=reboot', { onReboot: DESTROY, onPoweroff: RESTART }));
    await start(defined.id);
    await live.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STOPPED) === 1, 'the stopped event');
    live.close();
    const after = await get(defined.id);
    expect(after.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(after.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    expect(after.status!.message).toMatch(/rebooted; on_reboot is DESTROY/);
    // Stopped for good: no shutdown-then-restart (that would be on_poweroff's RESTART applied to a reboot).
    expect(lifecycleOf(live.events, defined.id).map((e) => e.type)).toEqual([
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_DEFINED,
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED,
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_STOPPED,
    ]);
    await undefine(defined.id);
  });

  it('a guest power-off under on_poweroff RESTART starts it again, although on_reboot is DESTROY', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=poweroff', { onReboot: DESTROY, onPoweroff: RESTART }));
    const firstPid = (await start(defined.id)).status!.enginePid;
    await live.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED) >= 2, 'a second start');
    live.close();
    const [, started, shutdown, restarted] = lifecycleOf(live.events, defined.id);
    expect(started.type).toBe(LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED);
    expect(shutdown).toEqual({ type: LifecycleEventType.LIFECYCLE_EVENT_TYPE_SHUTDOWN, state: DomainState.DOMAIN_STATE_SHUTDOWN, reason: DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN });
    expect(restarted).toEqual({ type: LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED, state: DomainState.DOMAIN_STATE_RUNNING, reason: DomainStateReason.DOMAIN_STATE_REASON_BOOTED });
    expect((await get(defined.id)).status!.enginePid).not.toBe(firstPid);
    await destroyAndUndefine(defined.id);
  });
});

describe('RESTART keeps the domain active', () => {
  it('GetDomain and ListDomains never show SHUTOFF while on_poweroff RESTART cycles the guest', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=poweroff', { onPoweroff: RESTART }));
    await start(defined.id);
    const seen = new Set<DomainState>();
    while (count(live.events, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED) < 3) {
      seen.add((await get(defined.id)).status!.state);
      seen.add((await list()).find((x) => x.id === defined.id)!.status!.state);
    }
    live.close();
    expect(seen.has(DomainState.DOMAIN_STATE_SHUTOFF)).toBe(false);
    expect(seen.has(DomainState.DOMAIN_STATE_RUNNING)).toBe(true);
    // Every event on the way says the domain stayed active, until the destroy.
    const sinceStart = lifecycleOf(live.events, defined.id).slice(1);
    expect(sinceStart.length).toBeGreaterThanOrEqual(5);
    expect(sinceStart.filter((e) => e.state === DomainState.DOMAIN_STATE_SHUTOFF)).toEqual([]);
    expect((await destroyAndUndefine(defined.id)).status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
  });

  it('a panic under on_crash RESTART is reported CRASHED/PANICKED, then the guest starts again', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=panic', { onCrash: RESTART }));
    await start(defined.id);
    await live.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED) >= 2, 'a second start');
    live.close();
    const [, , crashed, restarted] = lifecycleOf(live.events, defined.id);
    expect(crashed).toEqual({ type: LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED, state: DomainState.DOMAIN_STATE_CRASHED, reason: DomainStateReason.DOMAIN_STATE_REASON_PANICKED });
    expect(restarted.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    await destroyAndUndefine(defined.id);
  });
});

describe('PRESERVE', () => {
  it('a panic under on_crash PRESERVE keeps the engine: CRASHED/PANICKED, stats, console, an hvd restart, reset, destroy', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=panic', { onCrash: PRESERVE }));
    const pid = (await start(defined.id)).status!.enginePid;
    await live.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED) === 1, 'the crashed event');
    expect(lifecycleOf(live.events, defined.id).at(-1)).toEqual({ type: LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED, state: DomainState.DOMAIN_STATE_CRASHED, reason: DomainStateReason.DOMAIN_STATE_REASON_PANICKED });

    const crashed = await get(defined.id);
    expect(crashed.status!.state).toBe(DomainState.DOMAIN_STATE_CRASHED);
    expect(crashed.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_PANICKED);
    expect(crashed.status!.enginePid).toBe(pid);
    expect(isAlive(pid)).toBe(true);
    expect((await list([DomainState.DOMAIN_STATE_CRASHED])).map((x) => x.id)).toContain(defined.id);
    // The vCPUs are stopped: the exit counter stands still, the engine still answers with its memory.
    const first = await stats(defined.id);
    expect(first.rssBytes).toBeGreaterThan(0);
    expect((await stats(defined.id)).vcpuExits).toBe(first.vcpuExits);
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/hv-guest: panicking \(pvpanic\)/);
    expect(console.output).not.toContain('pvpanic ignored');
    // Only the calls that make sense for a stopped guest are taken.
    expect((await rejection(start(defined.id))).code).toBe(status.FAILED_PRECONDITION);
    expect((await rejection(unaryCall(d().suspendDomain.bind(d()), { domain: defined.id, requestId: '' }))).details).toMatch(/CRASHED/);

    // An hvd restart reattaches and reports the same state, without a second crashed event.
    await hvd.kill();
    expect(isAlive(pid)).toBe(true);
    hvd = await startHvd(hvd.dir);
    const reattached = await get(defined.id);
    expect(reattached.status!.state).toBe(DomainState.DOMAIN_STATE_CRASHED);
    expect(reattached.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_PANICKED);
    expect(reattached.status!.enginePid).toBe(pid);

    // ResetDomain boots the guest again in the same engine: it panics again and is preserved again.
    const after = watchEvents(d(), live.events.at(-1)!.sequence, defined.id);
    live.close();
    const console2 = new ConsoleSession(d(), { domain: defined.id });
    const running = await reset(defined.id);
    expect(running.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(running.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_RESET);
    expect(running.status!.enginePid).toBe(pid);
    await after.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED) === 1, 'the second crashed event');
    expect(lifecycleOf(after.events, defined.id).map((e) => e.type)).toEqual([LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED, LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED]);
    await console2.waitFor(/panicking \(pvpanic\)[\s\S]*hv-guest: ready[\s\S]*panicking \(pvpanic\)/);

    // DestroyDomain ends the engine; console streams end with the final status.
    const destroyed = await destroy(defined.id);
    expect(destroyed.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(destroyed.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    expect((await console2.ended).closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    await waitFor(() => !isAlive(pid), 5000, 'the engine to be gone');
    after.close();
    await undefine(defined.id);
  });

  it('ShutdownDomain under on_poweroff PRESERVE returns a SHUTDOWN domain whose engine is kept', async () => {
    const defined = await define(spec('action=powerbutton', { onPoweroff: PRESERVE }));
    const pid = (await start(defined.id)).status!.enginePid;
    await new ConsoleSession(d(), { domain: defined.id }).waitFor(/waiting for the power button/);
    const done = (await unaryCall(d().shutdownDomain.bind(d()), { domain: defined.id, timeout: undefined, requestId: '' })).domain!;
    expect(done.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTDOWN);
    expect(done.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    expect(done.status!.enginePid).toBe(pid);
    expect(isAlive(pid)).toBe(true);
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/power button pressed/);
    expect((await destroy(defined.id)).status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    await undefine(defined.id);
  });

  it('a guest reboot under on_reboot PRESERVE is kept SHUTDOWN, saying it rebooted', async () => {
    const live = watchEvents(d());
    const defined = await define(spec('action=reboot', { onReboot: PRESERVE, onPoweroff: RESTART }));
    const pid = (await start(defined.id)).status!.enginePid;
    await live.until((e) => count(e, defined.id, LifecycleEventType.LIFECYCLE_EVENT_TYPE_SHUTDOWN) === 1, 'the shutdown event');
    live.close();
    const kept = await get(defined.id);
    expect(kept.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTDOWN);
    expect(kept.status!.message).toMatch(/rebooted; on_reboot is PRESERVE/);
    expect(kept.status!.enginePid).toBe(pid);
    await destroy(defined.id);
    await undefine(defined.id);
  });
});
