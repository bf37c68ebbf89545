import { afterEach, describe, expect, it } from 'vitest';
import {
  HV_HOST_UUID_NAMESPACE,
  isUsableSmbiosUuid,
  readHostname,
  readHostUuid,
  readKernelRelease,
  uuidV5,
} from '../../../server/src/host/identity';
import { run, sh } from './independent-sources';
import { fixtureTree, type FixtureTree } from './sysfs-fixture';

const pythonAnswers = new Map<string, string>();
/** Python's uuid.uuid5: an independent implementation of RFC 9562 version 5 (memoised: python3 starts slowly). */
function pythonUuid5(namespace: string, name: string): string {
  const key = `${namespace}/${name}`;
  let uuid = pythonAnswers.get(key);
  if (uuid === undefined) {
    const script = 'import sys, uuid; print(uuid.uuid5(uuid.UUID(sys.argv[1]), sys.argv[2]))';
    uuid = run('python3', ['-c', script, namespace, name]).trim();
    pythonAnswers.set(key, uuid);
  }
  return uuid;
}

describe('uuidV5', () => {
  it('matches RFC 9562 appendix A.4 (DNS namespace, "www.example.com")', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('matches Python uuid.uuid5 under hv\'s namespace', () => {
    const name = '3d1219c7c4c5404aaa1f6d2a48adfda4';
    expect(uuidV5(HV_HOST_UUID_NAMESPACE, name)).toBe(pythonUuid5(HV_HOST_UUID_NAMESPACE, name));
  });
});

describe('host uuid on this host', () => {
  it('is the SMBIOS uuid when the shell can read it, else uuid5 of /etc/machine-id', () => {
    const dmi = sh('cat /sys/class/dmi/id/product_uuid 2>/dev/null || true').toLowerCase();
    const host = readHostUuid();
    if (dmi !== '' && !/^(00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/.test(dmi)) {
      expect(host).toEqual({ uuid: dmi, source: 'dmi' });
    } else {
      const machineId = sh('cat /etc/machine-id');
      expect(host).toEqual({ uuid: pythonUuid5(HV_HOST_UUID_NAMESPACE, machineId), source: 'machine-id' });
    }
  });

  it('is stable across reads', () => {
    expect(readHostUuid()).toEqual(readHostUuid());
  });
});

describe('host uuid sources (fixtures)', () => {
  let tree: FixtureTree;
  afterEach(() => tree.remove());
  const machineId = '0123456789abcdef0123456789abcdef';

  function host(productUuid: string | undefined, machineIdText: string | undefined = machineId) {
    tree = fixtureTree();
    if (productUuid !== undefined) tree.write('sys/class/dmi/id/product_uuid', `${productUuid}\n`);
    if (machineIdText !== undefined) tree.write('etc/machine-id', `${machineIdText}\n`);
    return readHostUuid(`${tree.root}/sys`, [`${tree.root}/etc/machine-id`, `${tree.root}/var/lib/dbus/machine-id`]);
  }

  it('takes a real SMBIOS uuid, lower-cased', () => {
    expect(host('4C4C4544-0042-3510-8052-B4C04F333732')).toEqual({
      uuid: '4c4c4544-0042-3510-8052-b4c04f333732',
      source: 'dmi',
    });
  });

  it.each([
    '00000000-0000-0000-0000-000000000000',
    'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    '03000200-0400-0500-0006-000700080009',
    'Not Settable',
  ])('skips the placeholder %s for the machine id', (placeholder) => {
    expect(isUsableSmbiosUuid(placeholder)).toBe(false);
    expect(host(placeholder)).toEqual({ uuid: pythonUuid5(HV_HOST_UUID_NAMESPACE, machineId), source: 'machine-id' });
  });

  it('falls back to the D-Bus machine id, and to nothing', () => {
    tree = fixtureTree();
    tree.write('var/lib/dbus/machine-id', `${machineId}\n`);
    const paths = [`${tree.root}/etc/machine-id`, `${tree.root}/var/lib/dbus/machine-id`];
    expect(readHostUuid(`${tree.root}/sys`, paths).source).toBe('machine-id');
    tree.remove();
    expect(host(undefined, 'uninitialized')).toEqual({ uuid: '', source: 'none' });
  });
});

describe('host name and kernel', () => {
  it('hostname is `hostname`', () => {
    expect(readHostname()).toBe(run('hostname').trim());
  });

  it('kernel release is `uname -r`', () => {
    expect(readKernelRelease()).toBe(run('uname', ['-r']).trim());
  });
});
