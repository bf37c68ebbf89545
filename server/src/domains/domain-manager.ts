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

  /** Starts a transient domain (libvirt's virDomainCreateXML). */
  async create(input: DomainSpec | undefined): Promise<DomainRecord> {
    const spec = validateSpec(input, this.options.specContext);
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
      await this.startEngine(record);
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

  private async startEngine(record: DomainRecord): Promise<void> {
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
    record.starting = false;
    record.destroyRequested = false;
    record.status = status(DomainState.DOMAIN_STATE_RUNNING, DomainStateReason.DOMAIN_STATE_REASON_BOOTED, engine.pid);
    record.stopped = engine.exited.then((exit) => this.onEngineExit(record, engine, exit));
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
