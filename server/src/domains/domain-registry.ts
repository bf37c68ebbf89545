import { alreadyExists, notFound } from '../errors';
import type { GuestStop } from '../../../gen/hypervisor/engine/v1/engine_service';
import type { DomainSpec, DomainStatus } from '../../../gen/hypervisor/v1/domain';
import type { EngineProcess } from '../engine/engine-process';

/** hvd's record of one domain. */
export interface DomainRecord {
  id: string;
  name: string;
  /** The configuration the next start uses (for a persistent domain, what is stored). */
  spec: DomainSpec;
  /** The configuration the running engine was started with. */
  liveSpec?: DomainSpec;
  persistent: boolean;
  autostart: boolean;
  status: DomainStatus;
  createTime: Date;
  updateTime: Date;
  etag: string;
  /** The engine serving the domain while it runs. */
  engine?: EngineProcess;
  /** Set while hvd is starting the engine: the name is taken but the domain cannot be acted on yet. */
  starting: boolean;
  /** A client asked for the engine to be killed, so its end is DESTROYED rather than a crash. */
  destroyRequested: boolean;
  /** The guest stopped and PRESERVE keeps its engine (vCPUs stopped): how it stopped. */
  preserved?: GuestStop;
  /** RebootDomain pressed the power button: the guest's power-off restarts it instead of stopping it. */
  rebootRequested: boolean;
  /** Settles when the lifecycle restart that followed the last engine's end has finished (or failed). */
  restarted?: Promise<void>;
  /** Resolves with the final status when the current engine has ended. */
  stopped?: Promise<DomainStatus>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The domains hvd knows, by id; requests may name them by id (UUID, tried first) or by name. */
export class DomainRegistry {
  private readonly byId = new Map<string, DomainRecord>();

  find(idOrName: string): DomainRecord | undefined {
    if (UUID.test(idOrName)) {
      const record = this.byId.get(idOrName.toLowerCase());
      if (record) return record;
    }
    for (const record of this.byId.values()) if (record.name === idOrName) return record;
    return undefined;
  }

  get(idOrName: string): DomainRecord {
    const record = this.find(idOrName);
    if (!record) throw notFound('domain', idOrName);
    return record;
  }

  add(record: DomainRecord): void {
    if (this.byId.has(record.id)) throw alreadyExists('domain', record.id, `a domain with uuid ${record.id} already exists`);
    this.checkNameFree(record.name, record.id);
    this.byId.set(record.id, record);
  }

  /** ALREADY_EXISTS unless no other domain than `id` is called `name`. */
  checkNameFree(name: string, id: string): void {
    for (const other of this.byId.values()) {
      if (other.name === name && other.id !== id) throw alreadyExists('domain', name, `a domain named "${name}" already exists`);
    }
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  list(): DomainRecord[] {
    return [...this.byId.values()];
  }
}
