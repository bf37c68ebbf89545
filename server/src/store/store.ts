import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DomainEvent } from '../../../gen/hypervisor/v1/events';
import { DomainSpec } from '../../../gen/hypervisor/v1/domain';
import { MIGRATIONS } from './migrations';

/** A persistent domain's definition as stored. */
export interface StoredDomain {
  id: string;
  name: string;
  spec: DomainSpec;
  autostart: boolean;
  etag: string;
  createTime: Date;
  updateTime: Date;
}

/** Results kept for request_id retries (AIP-155): a day is far longer than any client retries. */
const REQUEST_RESULT_TTL_MS = 24 * 60 * 60 * 1000;

interface DomainRow {
  id: string;
  name: string;
  spec: Buffer;
  autostart: number;
  etag: string;
  create_time: number;
  update_time: number;
}

/**
 * hvd's state on disk: one SQLite database in WAL mode under the state directory. Every write is one
 * transaction, so a definition is either wholly stored or not at all, even if hvd is killed mid-write.
 */
export class Store {
  private readonly db: Database.Database;

  constructor(stateDir: string) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.db = new Database(path.join(stateDir, 'hvd.db'));
    this.db.pragma('journal_mode = WAL');
    // FULL: a definition acknowledged to a client survives power loss, not only a crash of hvd.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new Error(`state database is schema version ${version}, newer than this hvd (${MIGRATIONS.length})`);
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  listDomains(): StoredDomain[] {
    return (this.db.prepare('SELECT * FROM domains ORDER BY name').all() as DomainRow[]).map(fromRow);
  }

  /** Inserts or replaces a definition. */
  putDomain(domain: StoredDomain): void {
    this.db
      .prepare(
        `INSERT INTO domains (id, name, spec, autostart, etag, create_time, update_time)
         VALUES (@id, @name, @spec, @autostart, @etag, @create_time, @update_time)
         ON CONFLICT(id) DO UPDATE SET name = @name, spec = @spec, autostart = @autostart, etag = @etag, update_time = @update_time`,
      )
      .run({
        id: domain.id,
        name: domain.name,
        spec: Buffer.from(DomainSpec.encode(domain.spec).finish()),
        autostart: domain.autostart ? 1 : 0,
        etag: domain.etag,
        create_time: domain.createTime.getTime(),
        update_time: domain.updateTime.getTime(),
      });
  }

  deleteDomain(id: string): void {
    this.db.prepare('DELETE FROM domains WHERE id = ?').run(id);
  }

  /** The stored result of (method, requestId) and the digest of the request that made it ('' for rows from before digests). */
  getRequestResult(method: string, requestId: string): { response: Buffer; requestDigest: string } | undefined {
    const row = this.db.prepare('SELECT response, request_digest FROM request_results WHERE method = ? AND request_id = ?').get(method, requestId) as
      | { response: Buffer; request_digest: string }
      | undefined;
    return row && { response: row.response, requestDigest: row.request_digest };
  }

  putRequestResult(method: string, requestId: string, requestDigest: string, response: Uint8Array): void {
    const now = Date.now();
    this.db.prepare('DELETE FROM request_results WHERE create_time < ?').run(now - REQUEST_RESULT_TTL_MS);
    this.db
      .prepare('INSERT OR REPLACE INTO request_results (method, request_id, request_digest, response, create_time) VALUES (?, ?, ?, ?, ?)')
      .run(method, requestId, requestDigest, Buffer.from(response), now);
  }

  /** Appends an event and keeps only the newest `keep`. */
  appendEvent(event: DomainEvent, keep: number): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO events (sequence, event) VALUES (?, ?)').run(event.sequence, Buffer.from(DomainEvent.encode(event).finish()));
      this.db.prepare('DELETE FROM events WHERE sequence <= ?').run(event.sequence - keep);
    })();
  }

  /** The stored event history, oldest first. */
  events(): DomainEvent[] {
    return (this.db.prepare('SELECT event FROM events ORDER BY sequence').all() as { event: Buffer }[]).map((r) => DomainEvent.decode(r.event));
  }

  close(): void {
    this.db.close();
  }
}

function fromRow(row: DomainRow): StoredDomain {
  return {
    id: row.id,
    name: row.name,
    spec: DomainSpec.decode(row.spec),
    autostart: row.autostart !== 0,
    etag: row.etag,
    createTime: new Date(row.create_time),
    updateTime: new Date(row.update_time),
  };
}
