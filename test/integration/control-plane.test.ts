/**
 * The control plane as a cloud control plane uses it: persistent domains in SQLite, the lifecycle with libvirt's
 * states and reasons, events with resumable sequence numbers, request_id retries, and restart safety — real hvd
 * processes (killed and restarted), real engines, the real database file.
 */
import * as fs from 'node:fs';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { DomainSpec, DomainState, DomainStateReason, LifecycleAction, type Domain } from '../../gen/hypervisor/v1/domain';
import { LifecycleEventType } from '../../gen/hypervisor/v1/events';
import { EngineServiceClient } from '../../gen/hypervisor/engine/v1/engine_service';
import { runDirFor } from '../../engine/src/control/run-dir';
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

const spec = (cmdline: string, extra: Partial<DomainSpec> = {}) => guestSpec(guests.pvh, cmdline, extra);
const d = () => hvd.clients.domains;
const { define, start, get, destroy, undefine } = domainCalls(d);

const watch = (afterSequence = 0, domain = '') => watchEvents(d(), afterSequence, domain);
const lifecycle = lifecycleType;

describe('persistent domains', () => {
  it('define → SHUTOFF, start → RUNNING, destroy → SHUTOFF/DESTROYED and still defined, undefine → gone', async () => {
    const defined = await define(spec('action=hlt'));
    expect(defined.persistent).toBe(true);
    expect(defined.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    const running = await start(defined.id);
    expect(running.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect((await rejection(start(defined.id))).code).toBe(status.FAILED_PRECONDITION);
    const stopped = await destroy(defined.name);
    expect(stopped.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    expect((await get(defined.id)).status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    const notRunning = await rejection(destroy(defined.id));
    expect(notRunning.code).toBe(status.FAILED_PRECONDITION);
    expect(notRunning.details).toMatch(/SHUTOFF/);
    await undefine(defined.id);
    expect((await rejection(get(defined.id))).code).toBe(status.NOT_FOUND);
  });

  it('UpdateDomain checks the etag, and a running domain keeps its live config until it restarts', async () => {
    const defined = await define(spec('action=hlt'));
    await start(defined.id);
    const changed = DomainSpec.fromPartial({ ...defined.spec, boot: { ...defined.spec!.boot!, cmdline: 'action=spin' } });
    const stale = await rejection(unaryCall(d().updateDomain.bind(d()), { domain: defined.id, spec: changed, etag: 'not-the-etag', requestId: '' }));
    expect(stale.code).toBe(status.ABORTED);
    const updated = (await unaryCall(d().updateDomain.bind(d()), { domain: defined.id, spec: changed, etag: defined.etag, requestId: '' })).domain!;
    expect(updated.etag).not.toBe(defined.etag);
    // GetDomain of a running domain shows what runs (libvirt's live XML); the stored config applies at next start.
    expect((await get(defined.id)).spec!.boot!.cmdline).toBe('action=hlt');
    await destroy(defined.id);
    expect((await get(defined.id)).spec!.boot!.cmdline).toBe('action=spin');
    await undefine(defined.id);
  });

  it('keeps definitions across an hvd crash (SIGKILL) in its database file', async () => {
    const defined = await define(spec('action=hlt'));
    expect(fs.existsSync(`${hvd.stateDir}/hvd.db`)).toBe(true);
    await hvd.kill();
    hvd = await startHvd(hvd.dir);
    const again = await get(defined.id);
    expect(again.name).toBe(defined.name);
    expect(again.persistent).toBe(true);
    expect(again.spec).toEqual(defined.spec);
    await undefine(defined.id);
  });
});

describe('durability', () => {
  it('never loses an acknowledged definition when hvd is SIGKILLed in the middle of a stream of writes', async () => {
    const acknowledged: string[] = [];
    const writes = Array.from({ length: 40 }, () =>
      define(spec('action=hlt')).then(
        (domain) => void acknowledged.push(domain.id),
        () => undefined, // cut off by the kill: may or may not have been stored, never half-stored
      ),
    );
    await waitFor(() => acknowledged.length >= 5, 10_000, 'the first definitions to be acknowledged');
    await hvd.kill();
    await Promise.all(writes);
    hvd = await startHvd(hvd.dir);
    const { domains } = await unaryCall(d().listDomains.bind(d()), { pageSize: 1000, pageToken: '', states: [] });
    const stored = new Set(domains.map((x) => x.id));
    for (const id of acknowledged) expect(stored.has(id), `acknowledged definition ${id} was lost`).toBe(true);
    for (const x of domains) {
      expect(x.spec?.boot?.kernelPath).toBe(guests.pvh); // every stored row decodes to the whole spec
      await undefine(x.id);
    }
  });
});

describe('host limits', () => {
  it('refuses a start that would exceed the host vCPU budget with RESOURCE_EXHAUSTED, naming what is short', async () => {
    const caps = await unaryCall(hvd.clients.capabilities.getCapabilities.bind(hvd.clients.capabilities), {});
    const cpus = caps.capabilities!.host!.topology!.onlineCpus;
    // A budget of exactly one vCPU: the first domain fits, the second does not fit now.
    const limited = await startHvd(undefined, ['--vcpu-overcommit', String(1 / cpus)]);
    try {
      const calls = domainCalls(() => limited.clients.domains);
      const first = await calls.create(spec('action=hlt'));
      const err = await rejection(calls.create(spec('action=hlt')));
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/vCPU/);
      await calls.destroy(first.id);
      await calls.destroy((await calls.create(spec('action=hlt'))).id); // fits again once the first is gone
    } finally {
      await limited.stop();
    }
  });
});

describe('request_id', () => {
  it('a retried CreateDomain returns the first result and starts one engine only, also after an hvd restart', async () => {
    const s = spec('action=hlt');
    const requestId = `req-${process.pid}-${Date.now()}`;
    const first = (await unaryCall(d().createDomain.bind(d()), { spec: s, paused: false, requestId })).domain!;
    const retry = (await unaryCall(d().createDomain.bind(d()), { spec: s, paused: false, requestId })).domain!;
    expect(retry.id).toBe(first.id);
    expect(retry.status!.enginePid).toBe(first.status!.enginePid);
    expect(hvd.enginePids().filter((p) => p === first.status!.enginePid)).toHaveLength(1);
    await hvd.kill();
    hvd = await startHvd(hvd.dir);
    const afterRestart = (await unaryCall(d().createDomain.bind(d()), { spec: s, paused: false, requestId })).domain!;
    expect(afterRestart.id).toBe(first.id);
    await destroy(first.id);
  });

  it('every mutating RPC honours it: a retried Start, Suspend, Resume, Reset or Destroy acts once and answers as the first time', async () => {
    const defined = await define(spec('action=hlt'));
    const id = (rpc: string) => `${rpc}-${defined.id}`;
    const twice = async <T,>(call: () => Promise<T>): Promise<[T, T]> => [await call(), await call()];
    const [started, startedAgain] = await twice(() => unaryCall(d().startDomain.bind(d()), { domain: defined.id, paused: false, requestId: id('start') }));
    expect(startedAgain.domain!.status!.enginePid).toBe(started.domain!.status!.enginePid);
    const [suspended, suspendedAgain] = await twice(() => unaryCall(d().suspendDomain.bind(d()), { domain: defined.id, requestId: id('suspend') }));
    expect(suspendedAgain.domain!.status!.state).toBe(suspended.domain!.status!.state);
    await twice(() => unaryCall(d().resumeDomain.bind(d()), { domain: defined.id, requestId: id('resume') }));
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/hv-guest: halting/);
    await twice(() => unaryCall(d().resetDomain.bind(d()), { domain: defined.id, requestId: id('reset') }));
    await console.waitFor(/hv-guest: halting[\s\S]*hv-guest: halting/);
    const [destroyed, destroyedAgain] = await twice(() => unaryCall(d().destroyDomain.bind(d()), { domain: defined.id, requestId: id('destroy') }));
    expect(destroyedAgain.domain!.status).toEqual(destroyed.domain!.status);
    // Without request ids the second Start, Suspend or Destroy would have failed with FAILED_PRECONDITION; the
    // guest booted once and was reset once.
    await console.ended;
    expect(console.output.match(/hv-guest: ready/g)).toHaveLength(2);
    await undefine(defined.id);
  });

  it('refuses an id reused for a different request, naming request_id', async () => {
    const a = await define(spec('action=hlt', { name: `reuse-a-${process.pid}` }));
    const b = await define(spec('action=hlt', { name: `reuse-b-${process.pid}` }));
    const requestId = `reuse-${process.pid}-${Date.now()}`;
    await unaryCall(d().startDomain.bind(d()), { domain: a.id, paused: false, requestId });
    const err = await rejection(unaryCall(d().startDomain.bind(d()), { domain: b.id, paused: false, requestId }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/request_id/);
    expect((await get(b.id)).status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    await destroy(a.id);
    await undefine(a.id);
    await undefine(b.id);
  });
});

describe('events', () => {
  it('numbers every event, and a client resuming from its last sequence gets what it missed', async () => {
    const live = watch();
    const defined = await define(spec('action=hlt'));
    await start(defined.id);
    await destroy(defined.id);
    await live.until((e) => e.filter((x) => x.domainId === defined.id).length >= 3, 'define, start and stop events');
    const mine = live.events.filter((e) => e.domainId === defined.id);
    expect(mine.map(lifecycle).slice(0, 3)).toEqual([
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_DEFINED,
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED,
      LifecycleEventType.LIFECYCLE_EVENT_TYPE_STOPPED,
    ]);
    for (let i = 1; i < live.events.length; i++) expect(live.events[i].sequence).toBe(live.events[i - 1].sequence + 1);
    live.close();

    const resumed = watch(mine[0].sequence);
    await resumed.until((e) => e.some((x) => x.sequence === mine[2].sequence), 'the missed events');
    expect(resumed.events[0].sequence).toBe(mine[0].sequence + 1);
    resumed.close();

    const ahead = watch(mine[2].sequence + 1000);
    await waitFor(() => ahead.error() !== undefined, 5000, 'an OUT_OF_RANGE error');
    expect(ahead.error()!.code).toBe(status.OUT_OF_RANGE);
    await undefine(defined.id);
  });
});

describe('lifecycle', () => {
  it('ShutdownDomain presses the power button and returns once the guest powered off', async () => {
    const defined = await define(spec('action=powerbutton'));
    await start(defined.id);
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/waiting for the power button/);
    const done = (await unaryCall(d().shutdownDomain.bind(d()), { domain: defined.id, timeout: undefined, requestId: '' })).domain!;
    expect(done.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(done.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    expect(console.output).toContain('power button pressed');
    await undefine(defined.id);
  });

  it('RebootDomain presses the power button and starts the domain again once the guest powered off', async () => {
    const defined = await define(spec('action=powerbutton'));
    const firstPid = (await start(defined.id)).status!.enginePid;
    await new ConsoleSession(d(), { domain: defined.id }).waitFor(/waiting for the power button/);
    const rebooted = (await unaryCall(d().rebootDomain.bind(d()), { domain: defined.id, timeout: undefined, requestId: '' })).domain!;
    expect(rebooted.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(rebooted.status!.enginePid).not.toBe(firstPid);
    await new ConsoleSession(d(), { domain: defined.id }).waitFor(/waiting for the power button/);
    await destroy(defined.id);
    await undefine(defined.id);
  });

  it('RebootDomain on a guest whose power button reboots it returns once it rebooted in place, same engine', async () => {
    const defined = await define(spec('action=powerbutton-reboot'));
    const pid = (await start(defined.id)).status!.enginePid;
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/waiting for the power button/);
    const live = watch(0, defined.id);
    const rebooted = (await unaryCall(d().rebootDomain.bind(d()), { domain: defined.id, timeout: undefined, requestId: '' })).domain!;
    expect(rebooted.status).toMatchObject({ state: DomainState.DOMAIN_STATE_RUNNING, reason: DomainStateReason.DOMAIN_STATE_REASON_RESET, enginePid: pid });
    await console.waitFor(/rebooting \(i8042 reset\)[\s\S]*waiting for the power button/);
    await live.until((e) => e.some((x) => lifecycle(x) === LifecycleEventType.LIFECYCLE_EVENT_TYPE_REBOOTED), 'a REBOOTED event');
    live.close();
    await destroy(defined.id);
    await undefine(defined.id);
  });

  it('a guest rebooting itself under on_reboot RESTART is published as REBOOTED (RUNNING/RESET), its engine kept', async () => {
    const defined = await define(spec('action=reboot'));
    const live = watch(0, defined.id);
    const pid = (await start(defined.id)).status!.enginePid;
    await live.until((e) => e.filter((x) => lifecycle(x) === LifecycleEventType.LIFECYCLE_EVENT_TYPE_REBOOTED).length >= 2, 'two REBOOTED events');
    const reboot = live.events.find((x) => lifecycle(x) === LifecycleEventType.LIFECYCLE_EVENT_TYPE_REBOOTED)!;
    expect(reboot.kind?.$case === 'lifecycle' && reboot.kind.value).toMatchObject({ state: DomainState.DOMAIN_STATE_RUNNING, reason: DomainStateReason.DOMAIN_STATE_REASON_RESET });
    expect((await get(defined.id)).status!.enginePid).toBe(pid);
    live.close();
    await destroy(defined.id);
    await undefine(defined.id);
  });

  it('ResetDomain restarts the guest in place, even a halted one, without its cooperation', async () => {
    const defined = await define(spec('action=hlt'));
    const pid = (await start(defined.id)).status!.enginePid;
    const console = new ConsoleSession(d(), { domain: defined.id });
    await console.waitFor(/halting/);
    const reset = (await unaryCall(d().resetDomain.bind(d()), { domain: defined.id, requestId: '' })).domain!;
    expect(reset.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(reset.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_RESET);
    expect(reset.status!.enginePid).toBe(pid);
    await console.waitFor(/halting[\s\S]*hv-guest: ready[\s\S]*halting/);
    await destroy(defined.id);
    await undefine(defined.id);
  });

  it('ShutdownDomain reports honestly when the guest ignores the power button', async () => {
    const defined = await define(spec('action=hlt'));
    await start(defined.id);
    const err = await rejection(unaryCall(d().shutdownDomain.bind(d()), { domain: defined.id, timeout: { seconds: 1, nanos: 0 }, requestId: '' }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await get(defined.id)).status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    await destroy(defined.id);
    await undefine(defined.id);
  });

  it('on_poweroff RESTART starts the guest again after it powers off', async () => {
    const live = watch();
    const s = spec('action=poweroff', { lifecycle: { onPoweroff: LifecycleAction.LIFECYCLE_ACTION_RESTART, onReboot: 0, onCrash: 0 } });
    const defined = await define(s);
    await start(defined.id);
    await live.until((e) => e.filter((x) => x.domainId === defined.id && lifecycle(x) === LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED).length >= 3, 'three starts');
    live.close();
    // Destroy may meet the domain between two of its lives (starting): retry until it is off and stays off.
    let destroyed: Domain | undefined;
    for (let i = 0; i < 100 && !destroyed; i++) {
      destroyed = await destroy(defined.id).catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    expect(destroyed?.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    await new Promise((r) => setTimeout(r, 500));
    expect((await get(defined.id)).status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    await undefine(defined.id);
  });

  it('an engine killed under hvd ends the domain CRASHED with an event; other domains are untouched', async () => {
    const live = watch();
    const victim = await define(spec('action=hlt'));
    const bystander = await define(spec('action=hlt'));
    const pid = (await start(victim.id)).status!.enginePid;
    await start(bystander.id);
    process.kill(pid, 'SIGKILL');
    await live.until((e) => e.some((x) => x.domainId === victim.id && lifecycle(x) === LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED), 'a CRASHED event');
    const crashed = await get(victim.id);
    expect(crashed.status!.state).toBe(DomainState.DOMAIN_STATE_CRASHED);
    expect((await get(bystander.id)).status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    live.close();
    await destroy(bystander.id);
    await undefine(victim.id);
    await undefine(bystander.id);
  });
});

describe('restart safety', () => {
  it('guests keep running through an hvd SIGKILL; the new hvd reattaches: state, console and destroy work', async () => {
    const created = (await unaryCall(d().createDomain.bind(d()), { spec: spec('action=echo'), paused: false, requestId: '' })).domain!;
    const pid = created.status!.enginePid;
    await new ConsoleSession(d(), { domain: created.id }).waitFor(/echo>/);
    await hvd.kill();
    expect(isAlive(pid)).toBe(true);
    hvd = await startHvd(hvd.dir);
    const again = await get(created.id);
    expect(again.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(again.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_REATTACHED);
    expect(again.status!.enginePid).toBe(pid);
    const console = new ConsoleSession(d(), { domain: created.id, input: true });
    await console.waitFor(/echo>/); // scrollback from before the restart
    console.send('still here\r');
    await console.waitFor(/got=still here/);
    await destroy(created.id);
    expect((await console.ended).closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    await waitFor(() => !isAlive(pid), 5000, 'the engine to be gone');
  });

  it('an engine that ended while hvd was down is reported from its exit record', async () => {
    const defined = await define(spec('action=echo'));
    await start(defined.id);
    await hvd.kill();
    // Talk to the engine's own control socket, as nothing else is there while hvd is down: make the guest power off.
    const engine = new EngineServiceClient(`unix://${runDirFor(`${hvd.dir}/run`, defined.id).socket}`, credentials.createInsecure());
    const stream = engine.streamConsole();
    stream.write({ kind: { $case: 'attach', value: { skipScrollback: true, input: true, force: true, device: '' } } });
    stream.write({ kind: { $case: 'input', value: Buffer.from('poweroff\r') } });
    await new Promise((resolve) => stream.on('end', resolve).on('error', resolve));
    engine.close();
    hvd = await startHvd(hvd.dir);
    const after = await get(defined.id);
    expect(after.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(after.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    await waitFor(() => fs.readdirSync(`${hvd.dir}/run`).length === 0, 5000, 'the ended engine\'s run dir to be removed');
    await undefine(defined.id);
  });
});
