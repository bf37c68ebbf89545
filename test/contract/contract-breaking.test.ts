/**
 * The contract check `npm test` runs (scripts/check-contract.sh): buf breaking with FILE rules against the baseline
 * recorded when the contract was declared complete. A copy of proto/ with one compatible and one breaking change
 * shows the check lets additions through and stops a break, naming it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/hvd-process';

const work = mkdtempSync(join(tmpdir(), 'hv-contract-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the repository's buf workspace with `edit` applied to domain_service.proto. */
function workspace(name: string, edit: (proto: string) => string): string {
  const dir = join(work, name);
  for (const part of ['proto', 'third_party', 'buf.yaml']) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  const file = join(dir, 'proto/hypervisor/v1/domain_service.proto');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

function check(dir: string) {
  const run = spawnSync(join(REPO, 'node_modules/.bin/buf'), ['breaking', '--against', 'proto/contract-baseline.binpb', '--exclude-path', 'third_party'], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('contract breaking-change check', () => {
  it('lets a new field through', () => {
    const dir = workspace('added', (proto) => proto.replace('message ConsoleOpen {', 'message ConsoleOpen {\n  string added_for_test = 99;'));
    expect(check(dir)).toEqual({ status: 0, output: '' });
  });

  it('stops a changed field type, naming the field', () => {
    const dir = workspace('changed', (proto) => proto.replace('bool skip_scrollback = 2;', 'string skip_scrollback = 2;'));
    const { status, output } = check(dir);
    expect(status).not.toBe(0);
    expect(output).toMatch(/"skip_scrollback" on message "ConsoleOpen" changed type from "bool" to "string"/);
  });

  it('stops a removed RPC', () => {
    const dir = workspace('removed', (proto) => proto.replace(/\n\s*rpc ResetDomain\([^;]*;/, ''));
    const { status, output } = check(dir);
    expect(status).not.toBe(0);
    expect(output).toMatch(/ResetDomain/);
  });
});
