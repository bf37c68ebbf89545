/**
 * Schema migrations, applied in order; PRAGMA user_version records how many have run. Never edit a released
 * migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: persistent domains, request-id results, and the event history.
  `
  CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec BLOB NOT NULL,            -- hypervisor.v1.DomainSpec, protobuf binary
    autostart INTEGER NOT NULL,
    etag TEXT NOT NULL,
    create_time INTEGER NOT NULL,  -- ms since the epoch
    update_time INTEGER NOT NULL
  );
  CREATE TABLE request_results (
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    response BLOB NOT NULL,        -- the RPC's response message, protobuf binary
    create_time INTEGER NOT NULL,
    PRIMARY KEY (method, request_id)
  );
  CREATE TABLE events (
    sequence INTEGER PRIMARY KEY,
    event BLOB NOT NULL            -- hypervisor.v1.DomainEvent, protobuf binary
  );
  `,
  // 2: what each stored request asked (a digest), so a request_id reused for a different request is refused.
  `
  ALTER TABLE request_results ADD COLUMN request_digest TEXT NOT NULL DEFAULT '';
  `,
];
