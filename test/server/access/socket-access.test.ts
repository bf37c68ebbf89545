import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultReadOnlySocket, resolveGroup } from '../../../server/src/access';

describe('resolveGroup', () => {
  it('resolves names from the group file and takes numbers as they are', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-group-'));
    const file = path.join(dir, 'group');
    fs.writeFileSync(file, 'root:x:0:\nlibvirt:x:128:alice,bob\nkvm:x:104:\n');
    expect(resolveGroup('libvirt', file)).toBe(128);
    expect(resolveGroup('kvm', file)).toBe(104);
    expect(resolveGroup('4242', file)).toBe(4242);
    expect(() => resolveGroup('libvir', file)).toThrow(`unknown group "libvir" (not in ${file})`);
    fs.rmSync(dir, { recursive: true });
  });

  it('agrees with getent on this machine', () => {
    const [name, , gid] = execFileSync('getent', ['group', '0']).toString().trim().split(':');
    expect(resolveGroup(name)).toBe(Number(gid));
  });
});

describe('defaultReadOnlySocket', () => {
  it('sits beside the main socket', () => {
    expect(defaultReadOnlySocket('/run/hv/hvd.sock')).toBe('/run/hv/hvd-ro.sock');
    expect(defaultReadOnlySocket('/run/hv/api')).toBe('/run/hv/api-ro');
  });
});
