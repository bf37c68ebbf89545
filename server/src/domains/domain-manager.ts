import { createHash } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DomainSpec,
  DomainState,
  DomainStateReason,
  type DomainStatus,
} from '../../../gen/hypervisor/v1/domain';
import { ApiError, failedPrecondition, resourceExhausted } from '../errors';
import { EngineProcess, EngineStartError, type EngineExit } from '../engine/engine-process';
import { DomainRegistry, type DomainRecord } from './domain-registry';
import { validateSpec, type SpecContext } from './validate-spec';

export interface DomainManagerOptions {
  registry: DomainRegistry;
  runRoot: string;
  engineMain: string;
  specContext: SpecContext;
  /** Host RAM that running domains may use in total. */
  hostMemoryBytes: () => number;
  logger: Logger;
}

/** Starts and stops domains: the state machine between API requests and engine processes. */
export class DomainManager {
  constructor(private readonly options: DomainManagerOptions) {}

  get registry(): DomainRegistry {
    return this.options.registry;
  }

  /** Starts a transient domain (libvirt's virDomainCreateXML); `paused` leaves its vCPUs stopped. */
  async create(input: DomainSpec | undefined, paused = false): Promise<DomainRecord> {
    const spec = await validateSpec(input, this.options.specContext);
    const now = new Date();
    const record: DomainRecord = {
      id: spec.uuid,
      name: spec.name,
      spec,
      persistent: false,
      autostart: false,
      status: status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_UNSPECIFIED),
      createTime: now,
      updateTime: now,
      etag: etagOf(spec),
      starting: true,
      destroyRequested: false,
    };
    this.registry.add(record);
    try {
      this.checkFitsNow(record);
      await this.startEngine(record, paused);
    } catch (err) {
      this.registry.remove(record.id);
      throw err;
    }
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

  /** Pauses the vCPUs of a running domain (libvirt's virDomainSuspend). */
  async suspend(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    if (record.status.state !== DomainState.DOMAIN_STATE_RUNNING) throw wrongState(record, 'suspended', 'RUNNING');
    record.status = { ...(await engine.pause()), enginePid: engine.pid };
    return record;
  }

  /** Runs the vCPUs of a paused domain again (libvirt's virDomainResume). */
  async resume(idOrName: string): Promise<DomainRecord> {
    const record = this.registry.get(idOrName);
    const engine = this.runningEngine(record);
    if (record.status.state !== DomainState.DOMAIN_STATE_PAUSED) throw wrongState(record, 'resumed', 'PAUSED');
    record.status = { ...(await engine.resume()), enginePid: engine.pid, reason: DomainStateReason.DOMAIN_STATE_REASON_UNPAUSED };
    return record;
  }

  /** The engine serving a running domain, or FAILED_PRECONDITION naming the state it is in. */
  runningEngine(record: DomainRecord): EngineProcess {
    if (record.starting) throw failedPrecondition(`domain "${record.name}" is starting`);
    if (!record.engine) throw failedPrecondition(`domain "${record.name}" is not running (state ${DomainState[record.status.state]})`);
    return record.engine;
  }

  private checkFitsNow(record: DomainRecord): void {
    const inUse = this.registry
      .list()
      .filter((r) => r !== record && (r.engine || r.starting))
      .reduce((sum, r) => sum + (r.spec.memory?.currentBytes ?? 0), 0);
    const wanted = record.spec.memory?.currentBytes ?? 0;
    const host = this.options.hostMemoryBytes();
    if (inUse + wanted > host) {
      throw resourceExhausted(`domain needs ${wanted} bytes of memory but only ${Math.max(0, host - inUse)} of ${host} are free`);
    }
  }

  private async startEngine(record: DomainRecord, paused: boolean): Promise<void> {
    let engine: EngineProcess;
    try {
      engine = await EngineProcess.spawn({
        runRoot: this.options.runRoot,
        engineMain: this.options.engineMain,
        domainId: record.id,
        spec: record.spec,
      });
    } catch (err) {
      if (err instanceof EngineStartError) throw new ApiError(grpcStatus.INTERNAL, `domain "${record.name}" failed to start: ${err.message}`);
      throw err;
    }
    record.engine = engine;
    record.destroyRequested = false;
    record.stopped = engine.exited.then((exit) => this.onEngineExit(record, engine, exit));
    // Engines start with vCPUs paused: from here on a fast guest's whole life is observable (console, exit).
    let live: DomainStatus | undefined;
    try {
      live = paused ? (await engine.getState()).status : await engine.resume();
    } catch (err) {
      engine.kill();
      await record.stopped;
      throw err;
    }
    record.starting = false;
    // A guest may already have come and gone; then onEngineExit has recorded how it ended.
    if (record.engine === engine && live) record.status = { ...live, enginePid: engine.pid };
    this.options.logger.info({ domain: record.name, id: record.id, pid: engine.pid }, 'domain started');
  }

  private onEngineExit(record: DomainRecord, engine: EngineProcess, exit: EngineExit): DomainStatus {
    record.status = finalStatus(record, exit);
    record.engine = undefined;
    engine.removeRunDir();
    if (!record.persistent) this.registry.remove(record.id);
    this.options.logger.info(
      { domain: record.name, id: record.id, state: DomainState[record.status.state], reason: DomainStateReason[record.status.reason] },
      'domain stopped',
    );
    return record.status;
  }
}

function wrongState(record: DomainRecord, verb: string, needed: string): Error {
  return failedPrecondition(`domain "${record.name}" cannot be ${verb}: it is ${DomainState[record.status.state].replace('DOMAIN_STATE_', '')}, not ${needed}`);
}

/** What an engine's end means: a kill hvd asked for, the engine's own exit record, or else a crash. */
function finalStatus(record: DomainRecord, exit: EngineExit): DomainStatus {
  if (record.destroyRequested) return status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
  if (exit.record) return { ...exit.record, enginePid: 0, stateTime: exit.record.stateTime ?? new Date() };
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  return { ...status(DomainState.DOMAIN_STATE_CRASHED, DomainStateReason.DOMAIN_STATE_REASON_CRASHED), message: `engine ended unexpectedly (${how})` };
}

function status(state: DomainState, reason: DomainStateReason, enginePid = 0): DomainStatus {
  return { state, reason, stateTime: new Date(), enginePid, guestExitStatus: undefined, message: '' };
}

function etagOf(spec: DomainSpec): string {
  return createHash('sha256').update(JSON.stringify(DomainSpec.toJSON(spec))).digest('hex').slice(0, 16);
}
