import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { StopCause, type GuestStop, type WatchEventsResponse } from '../../../gen/hypervisor/engine/v1/engine_service';
import {
  DomainSpec,
  DomainState,
  DomainStateReason,
  LifecycleAction,
  type DomainStatus,
} from '../../../gen/hypervisor/v1/domain';
import { DeviceEventType, LifecycleEventType } from '../../../gen/hypervisor/v1/events';
import { checkFits, DEFAULT_OVERCOMMIT, type HostCapacity, type OvercommitRatios } from '../access';
import { ApiError, failedPrecondition, invalidField } from '../errors';
import { EngineProcess, EngineStartError, type EngineExit } from '../engine/engine-process';
import type { EventLog } from '../events/event-log';
import type { Store } from '../store/store';
import { DomainRegistry, type DomainRecord } from './domain-registry';
import { openImages, type OpenImage } from './open-images';
import { validateSpec, type SpecContext } from './validate-spec';

export interface DomainManagerOptions {
  registry: DomainRegistry;
  store: Store;
  events: EventLog;
  runRoot: string;
  engineMain: string;
  specContext: SpecContext;
  /** What the host has for running domains. */
  hostCapacity: () => HostCapacity;
  overcommit?: OvercommitRatios;
  /** Opens an image for an engine and checks the opened file (ImageRoots.open). */
  openImage: OpenImage;
  logger: Logger;
}

/** Default wait for a guest to power off after the power button (libvirt's shutdown waits as long as asked). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 60_000;

/**
 * The domain state machine between API requests, the store and engine processes, with libvirt's semantics:
 * transient domains (CreateDomain) vanish when they stop; persistent ones (DefineDomain) are stored and stay SHUTOFF.
 */
export class DomainManager {
  /**
   * What ShutdownDomain / RebootDomain wait for besides the engine's end, by domain id: its guest stopped and
   * PRESERVE kept the engine, or it rebooted in place (a guest whose power button handler reboots).
   */
  private readonly guestSignals = new EventEmitter<Record<string, ['preserved' | 'rebooted']>>();

  constructor(private readonly options: DomainManagerOptions) {
    this.guestSignals.setMaxListeners(0);
  }

  get registry(): DomainRegistry {
    return this.options.registry;
  }

  /** Loads the stored definitions (all SHUTOFF until reattached or started). */
  loadStored(): void {
    for (const stored of this.options.store.listDomains()) {
      this.registry.add({
        ...stored,
        persistent: true,
        status: status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_DEFINED),
        starting: false,
        destroyRequested: false,
        rebootRequested: false,
      });
    }
  }

  /** Checks and normalises a spec exactly as create and define do, without acting on it (ImportLibvirtXml). */
  validate(input: DomainSpec | undefined): Promise<DomainSpec> {
    return validateSpec(input, this.options.specContext);
  }

  /** Starts a transient domain (libvirt's virDomainCreateXML); `paused` leaves its vCPUs stopped. */
  async create(input: DomainSpec | undefined, paused = false): Promise<DomainRecord> {
    const spec = await validateSpec(input, this.options.specContext);
    const record = newRecord(spec, false, false);
    this.registry.add(record);
    try {
      await this.startEngine(record, paused, DomainStateReason.DOMAIN_STATE_REASON_BOOTED);
    } catch (err) {
      this.registry.remove(record.id);
      throw err;
    }
    return record;
  }

  /** Stores a persistent definition, or replaces the one with the same uuid (libvirt's virDomainDefineXML). */
  async define(input: DomainSpec | undefined, autostart: boolean): Promise<DomainRecord> {
    const spec = await validateSpec(input, this.options.specContext);
    const existing = this.registry.find(spec.uuid);
    if (existing && existing.id === spec.uuid) {
      this.registry.checkNameFree(spec.name, existing.id);
      if (existing.engine && existing.name !== spec.name) throw failedPrecondition(`domain "${existing.name}" cannot be renamed while it runs`);
      Object.assign(existing, { name: spec.name, spec, persistent: true, autostart, updateTime: new Date(), etag: etagOf(spec, autostart) });
      this.persist(existing);
      this.lifecycleEvent(existing, LifecycleEventType.LIFECYCLE_EVENT_TYPE_DEFINED);
      return existing;
    }
    const record = newRecord(spec, true, autostart);
    record.status = status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_DEFINED);
    this.registry.add(record);
    this.persist(record);
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_DEFINED);
    return record;
  }

  /** Replaces a persistent domain's configuration; a running domain picks it up at its next start. */
  async update(idOrName: string, input: DomainSpec | undefined, etag: string, autostart: boolean | undefined): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    if (!record.persistent) throw failedPrecondition(`domain "${record.name}" is transient: define it to change its configuration`);
    if (etag !== '' && etag !== record.etag) throw new ApiError(grpcStatus.ABORTED, `etag "${etag}" does not match the domain's current etag; get it again and retry`);
    const withId = DomainSpec.fromPartial({ ...input, uuid: input?.uuid || record.id });
    if (withId.uuid.toLowerCase() !== record.id) throw invalidField('spec.uuid', 'the uuid of a domain cannot change');
    const spec = await validateSpec(withId, this.options.specContext);
    this.registry.checkNameFree(spec.name, record.id);
    if (record.engine && spec.name !== record.name) throw failedPrecondition(`domain "${record.name}" cannot be renamed while it runs`);
    const nextAutostart = autostart ?? record.autostart;
    Object.assign(record, { name: spec.name, spec, autostart: nextAutostart, updateTime: new Date(), etag: etagOf(spec, nextAutostart) });
    this.persist(record);
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_DEFINED);
    return record;
  }

  /** Removes the stored definition; a running domain keeps running as a transient one (as libvirt). */
  undefine(idOrName: string): void {
    const record = this.registry.get(idOrName);
    if (!record.persistent) throw failedPrecondition(`domain "${record.name}" is transient: there is no definition to remove`);
    this.options.store.deleteDomain(record.id);
    record.persistent = false;
    record.autostart = false;
    if (!record.engine && !record.starting) this.registry.remove(record.id);
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_UNDEFINED);
  }

  /** Starts a defined domain (libvirt's virDomainCreate). */
  async start(idOrName: string, paused = false): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    if (record.engine || record.starting) throw wrongState(record, 'started', 'SHUTOFF');
    await this.startEngine(record, paused, DomainStateReason.DOMAIN_STATE_REASON_BOOTED);
    return record;
  }

  /** Kills the domain's engine at once and waits until it is gone (libvirt's virDomainDestroy). */
  async destroy(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    record.destroyRequested = true;
    engine.kill();
    await record.stopped;
    return record;
  }

  /**
   * Presses the power button and waits for the guest to power off. A guest that does not within the timeout is
   * reported with DEADLINE_EXCEEDED and left running: hvd never claims a shutdown that did not happen.
   */
  async shutdown(idOrName: string, timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS, reboot = false): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    if (record.status.state !== DomainState.DOMAIN_STATE_RUNNING) throw wrongState(record, reboot ? 'rebooted' : 'shut down', 'RUNNING');
    const stopped = record.stopped;
    let onSignal = (_signal: 'preserved' | 'rebooted') => {};
    const signalled = new Promise<'preserved' | 'rebooted'>((resolve) => (onSignal = resolve));
    // A reboot in place answers a RebootDomain; a ShutdownDomain waits on through it for the power-off.
    const listener = (signal: 'preserved' | 'rebooted') => (signal === 'preserved' || reboot) && onSignal(signal);
    this.guestSignals.on(record.id, listener);
    record.rebootRequested = reboot;
    let outcome;
    try {
      await engine.pressPowerButton();
      outcome = await Promise.race([stopped?.then(() => 'stopped' as const), signalled, delay(timeoutMs).then(() => 'timeout' as const)]);
    } finally {
      this.guestSignals.off(record.id, listener);
    }
    if (outcome === 'timeout') {
      record.rebootRequested = false;
      throw new ApiError(grpcStatus.DEADLINE_EXCEEDED, `domain "${record.name}" did not power off within ${timeoutMs} ms of the power button; it is still running (does the guest handle ACPI power button events?)`);
    }
    if (outcome === 'rebooted') {
      record.rebootRequested = false;
      return record;
    }
    // PRESERVE kept the powered-off guest's engine: a reboot boots it again in place.
    if (outcome === 'preserved') {
      record.rebootRequested = false;
      return reboot ? this.reset(record.id) : record;
    }
    // A reboot restarts the domain when its engine ended; wait for that start to finish.
    if (reboot) await record.restarted;
    return record;
  }

  /**
   * Hard reset in place, as pressing the reset button (libvirt's virDomainReset): no guest cooperation. A guest
   * that PRESERVE kept stopped boots again in its engine.
   */
  async reset(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    const live = await engine.reset();
    if (record.engine !== engine) return record;
    record.status = { ...live, enginePid: engine.pid };
    if (record.preserved) {
      record.preserved = undefined;
      this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED);
    }
    return record;
  }

  /** Re-reads a running domain's status from its engine (the guest may have rebooted itself in place). */
  async refresh(record: DomainRecord): Promise<DomainRecord> {
    const engine = record.engine;
    if (!engine || record.starting) return record;
    const live = (await engine.getState().catch(() => undefined))?.status;
    if (!live || record.engine !== engine) return record;
    // hvd knows why it changed what it changed (e.g. REATTACHED); the engine knows what the guest did alone.
    const guestDid = live.state !== record.status.state || (live.reason === DomainStateReason.DOMAIN_STATE_REASON_RESET && record.status.reason !== live.reason);
    if (guestDid) record.status = { ...live, enginePid: engine.pid };
    return record;
  }

  /** Pauses the vCPUs of a running domain (libvirt's virDomainSuspend). */
  async suspend(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    if (record.status.state !== DomainState.DOMAIN_STATE_RUNNING) throw wrongState(record, 'suspended', 'RUNNING');
    const paused = await engine.pause();
    if (record.engine !== engine) throw wrongState(record, 'suspended', 'RUNNING');
    record.status = { ...paused, enginePid: engine.pid };
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_SUSPENDED);
    return record;
  }

  /** Runs the vCPUs of a paused domain again (libvirt's virDomainResume). */
  async resume(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    if (record.status.state !== DomainState.DOMAIN_STATE_PAUSED) throw wrongState(record, 'resumed', 'PAUSED');
    const resumed = await engine.resume(DomainStateReason.DOMAIN_STATE_REASON_UNPAUSED);
    if (record.engine !== engine) throw wrongState(record, 'resumed', 'PAUSED');
    record.status = { ...resumed, enginePid: engine.pid };
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_RESUMED);
    return record;
  }

  /** The engine serving a running domain, or FAILED_PRECONDITION naming the state it is in. */
  runningEngine(record: DomainRecord): EngineProcess {
    if (record.starting) throw failedPrecondition(`domain "${record.name}" is starting`);
    if (!record.engine) throw wrongState(record, 'used this way', 'running');
    return record.engine;
  }

  /** Adopts an engine that kept running while hvd was down (its domain is known from the store or its launch file). */
  async adopt(record: DomainRecord, engine: EngineProcess): Promise<void> {
    const state = await engine.getState();
    const live = state.status;
    const preserved = state.preserved;
    if (!preserved && live && live.state !== DomainState.DOMAIN_STATE_RUNNING && live.state !== DomainState.DOMAIN_STATE_PAUSED) {
      // Its guest already stopped and the engine is on its way out: settle the domain once it is gone.
      this.settleEndedWhileAway(record, await engine.exited);
      engine.removeRunDir();
      return;
    }
    record.engine = engine;
    record.liveSpec = state.spec;
    record.destroyRequested = false;
    record.rebootRequested = false;
    record.stopped = engine.exited.then((exit) => this.onEngineExit(record, engine, exit));
    record.status = { ...(live ?? status(DomainState.DOMAIN_STATE_RUNNING, DomainStateReason.DOMAIN_STATE_REASON_REATTACHED)), enginePid: engine.pid };
    if (record.status.state === DomainState.DOMAIN_STATE_RUNNING) record.status.reason = DomainStateReason.DOMAIN_STATE_REASON_REATTACHED;
    // A preserved guest is reported as it was (its stop was published before hvd went away).
    record.preserved = preserved;
    engine.watchEvents((event) => this.onEngineEvent(record, engine, event));
    this.options.logger.info({ domain: record.name, pid: engine.pid, preserved: preserved !== undefined }, 'reattached to a running engine');
  }

  /** Applies what an engine that ended while hvd was down recorded, as if hvd had seen it end. */
  settleEndedWhileAway(record: DomainRecord, exit: EngineExit): void {
    this.afterStop(record, howItEnded(record, exit));
  }

  /** RESOURCE_EXHAUSTED unless the running domains plus this one fit the host's vCPUs and memory (with overcommit). */
  private checkFitsNow(record: DomainRecord): void {
    const use = (r: DomainRecord) => {
      const spec = r.liveSpec ?? r.spec;
      return { vcpus: spec.vcpus?.current ?? 0, memoryBytes: spec.memory?.currentBytes ?? 0 };
    };
    const running = this.registry.list().filter((r) => r !== record && (r.engine || r.starting)).map(use);
    checkFits(running, use(record), this.options.hostCapacity(), this.options.overcommit ?? DEFAULT_OVERCOMMIT);
  }

  private async startEngine(record: DomainRecord, paused: boolean, reason: DomainStateReason): Promise<void> {
    record.starting = true;
    try {
      this.checkFitsNow(record);
      await this.spawnEngine(record, paused, reason);
    } finally {
      record.starting = false;
    }
    this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STARTED);
  }

  private async spawnEngine(record: DomainRecord, paused: boolean, reason: DomainStateReason): Promise<void> {
    let engine: EngineProcess;
    const files = openImages(record.spec, record.name, this.options.openImage);
    try {
      engine = await EngineProcess.spawn({ runRoot: this.options.runRoot, engineMain: this.options.engineMain, domainId: record.id, spec: record.spec, files });
    } catch (err) {
      // The guest's set-up refused on this host (a tap in use, say) is a precondition; an engine that died is ours.
      if (err instanceof EngineStartError) throw new ApiError(err.setUpRefused ? grpcStatus.FAILED_PRECONDITION : grpcStatus.INTERNAL, `domain "${record.name}" failed to start: ${err.message}`);
      throw err;
    } finally {
      // The engine has its own copies now (or never started).
      files.close();
    }
    record.engine = engine;
    record.liveSpec = record.spec;
    record.destroyRequested = false;
    record.rebootRequested = false;
    record.preserved = undefined;
    record.stopped = engine.exited.then((exit) => this.onEngineExit(record, engine, exit));
    engine.watchEvents((event) => this.onEngineEvent(record, engine, event));
    // Engines start with vCPUs paused: from here on a fast guest's whole life is observable (console, exit).
    let live: DomainStatus | undefined;
    try {
      live = paused ? (await engine.getState()).status : await engine.resume(reason);
    } catch (err) {
      engine.kill();
      await record.stopped;
      throw err;
    }
    // A guest may already have come and gone; then onEngineExit has recorded how it ended.
    if (record.engine === engine && live) {
      record.status = { ...live, enginePid: engine.pid };
    }
    this.options.logger.info({ domain: record.name, id: record.id, pid: engine.pid }, 'domain started');
  }

  private onEngineExit(record: DomainRecord, engine: EngineProcess, exit: EngineExit): DomainStatus {
    const ended = howItEnded(record, exit);
    record.engine = undefined;
    record.preserved = undefined;
    engine.removeRunDir();
    this.afterStop(record, ended);
    return ended.status!;
  }

  /** What an engine tells beyond its exit: a device failed, or its guest stopped and PRESERVE kept it (published once). */
  private onEngineEvent(record: DomainRecord, engine: EngineProcess, event: WatchEventsResponse): void {
    if (record.engine !== engine) return;
    if (event.kind?.$case === 'rebooted') {
      record.status = { ...event.kind.value, enginePid: engine.pid };
      this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_REBOOTED);
      this.guestSignals.emit(record.id, 'rebooted');
      return;
    }
    if (event.kind?.$case === 'deviceFailure') {
      const { deviceId, message } = event.kind.value;
      this.options.logger.warn({ domain: record.name, device: deviceId, message }, 'device needs a reset');
      this.options.events.publish(record, { $case: 'device', value: { type: DeviceEventType.DEVICE_EVENT_TYPE_NEEDS_RESET, deviceId, message } });
      return;
    }
    if (event.kind?.$case !== 'preserved' || record.preserved) return;
    const stop = event.kind.value;
    record.preserved = stop;
    record.status = { ...stop.status!, enginePid: engine.pid };
    this.options.logger.info({ domain: record.name, cause: StopCause[stop.cause], message: record.status.message }, 'guest stopped; engine preserved');
    const crashed = record.status.state === DomainState.DOMAIN_STATE_CRASHED;
    this.lifecycleEvent(record, crashed ? LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED : LifecycleEventType.LIFECYCLE_EVENT_TYPE_SHUTDOWN);
    this.guestSignals.emit(record.id, 'preserved');
  }

  /**
   * Records the end, publishes it, and applies the lifecycle action: restart (the domain stays active, as libvirt
   * keeps it across such a restart: SHUTDOWN or CRASHED until the new engine runs, never SHUTOFF), or stop
   * (SHUTOFF; a transient domain is forgotten).
   */
  private afterStop(record: DomainRecord, ended: GuestStop): void {
    const final = ended.status!;
    const restart = this.shouldRestart(record, ended);
    record.liveSpec = undefined;
    this.options.logger.info(
      { domain: record.name, id: record.id, state: DomainState[final.state], reason: DomainStateReason[final.reason], cause: StopCause[ended.cause], restart, message: final.message },
      'domain stopped',
    );
    const crashed = final.state === DomainState.DOMAIN_STATE_CRASHED;
    if (!restart) {
      record.status = final;
      this.lifecycleEvent(record, crashed ? LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED : LifecycleEventType.LIFECYCLE_EVENT_TYPE_STOPPED);
      if (!record.persistent) this.registry.remove(record.id);
      return;
    }
    record.status = crashed ? final : { ...final, state: DomainState.DOMAIN_STATE_SHUTDOWN };
    record.status.message = `${final.message || 'guest stopped'}; restarting`;
    this.lifecycleEvent(record, crashed ? LifecycleEventType.LIFECYCLE_EVENT_TYPE_CRASHED : LifecycleEventType.LIFECYCLE_EVENT_TYPE_SHUTDOWN);
    record.rebootRequested = false;
    // Marked starting at once: no other call acts on the domain between its two engines.
    record.starting = true;
    record.restarted = this.startEngine(record, false, DomainStateReason.DOMAIN_STATE_REASON_BOOTED).catch((err: unknown) => {
      this.options.logger.error({ err, domain: record.name }, 'lifecycle restart failed');
      record.status = { ...status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_FAILED), message: String((err as Error).message) };
      this.lifecycleEvent(record, LifecycleEventType.LIFECYCLE_EVENT_TYPE_STOPPED);
      if (!record.persistent) this.registry.remove(record.id);
    });
  }

  /**
   * The lifecycle action of what ended the guest, by its cause: on_poweroff RESTART (or a RebootDomain) and
   * on_crash RESTART start it again. A reboot ends an engine only under on_reboot DESTROY (RESTART resets in
   * place), so it never restarts here. Never after a client's destroy.
   */
  private shouldRestart(record: DomainRecord, ended: GuestStop): boolean {
    if (record.destroyRequested) return false;
    const lifecycle = (record.liveSpec ?? record.spec).lifecycle;
    switch (causeOf(ended)) {
      case StopCause.STOP_CAUSE_POWEROFF:
        return record.rebootRequested || lifecycle?.onPoweroff === LifecycleAction.LIFECYCLE_ACTION_RESTART;
      case StopCause.STOP_CAUSE_CRASH:
        return lifecycle?.onCrash === LifecycleAction.LIFECYCLE_ACTION_RESTART;
      default:
        return false;
    }
  }

  private persist(record: DomainRecord): void {
    this.options.store.putDomain({
      id: record.id,
      name: record.name,
      spec: record.spec,
      autostart: record.autostart,
      etag: record.etag,
      createTime: record.createTime,
      updateTime: record.updateTime,
    });
  }

  private lifecycleEvent(record: DomainRecord, type: LifecycleEventType): void {
    this.options.events.publish(record, { $case: 'lifecycle', value: { type, state: record.status.state, reason: record.status.reason } });
  }
}

export function newRecord(spec: DomainSpec, persistent: boolean, autostart: boolean): DomainRecord {
  const now = new Date();
  return {
    id: spec.uuid,
    name: spec.name,
    spec,
    persistent,
    autostart,
    status: status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_UNSPECIFIED),
    createTime: now,
    updateTime: now,
    etag: etagOf(spec, autostart),
    starting: false,
    destroyRequested: false,
    rebootRequested: false,
  };
}

function wrongState(record: DomainRecord, verb: string, needed: string): Error {
  const state = DomainState[record.status.state].replace('DOMAIN_STATE_', '');
  return failedPrecondition(`domain "${record.name}" cannot be ${verb}: it is ${state}, not ${needed}`);
}

/** What an engine's end means: a kill hvd asked for, the engine's own exit record, or else a crash. */
function howItEnded(record: DomainRecord, exit: EngineExit): GuestStop {
  if (record.destroyRequested) return { status: status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_DESTROYED), cause: StopCause.STOP_CAUSE_DESTROY };
  const recorded = exit.record?.status;
  if (recorded) return { status: { ...recorded, enginePid: 0, stateTime: recorded.stateTime ?? new Date() }, cause: exit.record!.cause };
  const how = exit.signal ? `signal ${exit.signal}` : exit.code === null ? 'it was gone when hvd looked' : `exit code ${exit.code}`;
  return { status: { ...status(DomainState.DOMAIN_STATE_CRASHED, DomainStateReason.DOMAIN_STATE_REASON_CRASHED), message: `engine ended unexpectedly (${how})` }, cause: StopCause.STOP_CAUSE_CRASH };
}

/** The stop cause; an exit record from an engine older than causes is read from its state and reason. */
function causeOf(ended: GuestStop): StopCause {
  if (ended.cause !== StopCause.STOP_CAUSE_UNSPECIFIED) return ended.cause;
  if (ended.status?.reason === DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN) return StopCause.STOP_CAUSE_POWEROFF;
  if (ended.status?.state === DomainState.DOMAIN_STATE_CRASHED) return StopCause.STOP_CAUSE_CRASH;
  return StopCause.STOP_CAUSE_UNSPECIFIED;
}

function status(state: DomainState, reason: DomainStateReason, enginePid = 0): DomainStatus {
  return { state, reason, stateTime: new Date(), enginePid, guestExitStatus: undefined, message: '' };
}

function etagOf(spec: DomainSpec, autostart: boolean): string {
  return createHash('sha256').update(JSON.stringify({ spec: DomainSpec.toJSON(spec), autostart })).digest('hex').slice(0, 16);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
