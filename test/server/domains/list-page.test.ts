import { describe, expect, it } from 'vitest';
import { listPage } from '../../../server/src/domains/list-page';
import type { DomainRecord } from '../../../server/src/domains/domain-registry';
import { DomainState } from '../../../gen/hypervisor/v1/domain';
import { ApiError } from '../../../server/src/errors';

const record = (name: string, state: DomainState) => ({ name, status: { state } }) as unknown as DomainRecord;
const all = ['d', 'a', 'c', 'b', 'e'].map((n, i) => record(n, i % 2 ? DomainState.DOMAIN_STATE_RUNNING : DomainState.DOMAIN_STATE_SHUTOFF));

describe('listPage', () => {
  it('pages through every domain in name order exactly once', () => {
    const seen: string[] = [];
    let token = '';
    do {
      const page = listPage(all, 2, token, []);
      expect(page.records.length).toBeLessThanOrEqual(2);
      seen.push(...page.records.map((r) => r.name));
      token = page.nextPageToken;
    } while (token !== '');
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('filters by state', () => {
    expect(listPage(all, 0, '', [DomainState.DOMAIN_STATE_RUNNING]).records.map((r) => r.name)).toEqual(['a', 'b']);
    expect(listPage(all, 0, '', [DomainState.DOMAIN_STATE_PAUSED]).records).toEqual([]);
  });

  it('rejects a negative page size and a forged token, naming the field', () => {
    expect(() => listPage(all, -1, '', [])).toThrow(ApiError);
    try {
      listPage(all, 1, 'garbage!', []);
      throw new Error('expected a rejection');
    } catch (err) {
      expect((err as ApiError).fieldViolations[0].field).toBe('page_token');
    }
  });
});
