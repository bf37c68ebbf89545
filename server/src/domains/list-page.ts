import { DomainState } from '../../../gen/hypervisor/v1/domain';
import { invalidField } from '../errors';
import type { DomainRecord } from './domain-registry';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface Page {
  records: DomainRecord[];
  nextPageToken: string;
}

/** One page of domains ordered by name (AIP-158); the token is the last name served, opaque to clients. */
export function listPage(all: DomainRecord[], pageSize: number, pageToken: string, states: DomainState[]): Page {
  if (pageSize < 0) throw invalidField('page_size', 'must not be negative');
  const size = Math.min(pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const after = pageToken === '' ? undefined : decodeToken(pageToken);
  const wanted = new Set(states);
  const sorted = all
    .filter((r) => wanted.size === 0 || wanted.has(r.status.state))
    .filter((r) => after === undefined || r.name > after)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const records = sorted.slice(0, size);
  const more = sorted.length > size;
  return { records, nextPageToken: more ? encodeToken(records[records.length - 1].name) : '' };
}

function encodeToken(lastName: string): string {
  return Buffer.from(JSON.stringify({ after: lastName })).toString('base64url');
}

function decodeToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // Fall through to the error below.
  }
  throw invalidField('page_token', 'not a token returned by ListDomains');
}
