import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import { MAX_BALLOON_STATS_PERIOD_SECONDS, validateDevices } from '../../../server/src/domains/validate-devices';

const dir = mkdtempSync(join(tmpdir(), 'hv-devices-'));
const image = join(dir, 'disk.img');
writeFileSync(image, Buffer.alloc(4096));
const readOnlyImage = join(dir, 'ro.img');
writeFileSync(readOnlyImage, Buffer.alloc(4096));
chmodSync(readOnlyImage, 0o444);
const runningAsRoot = process.getuid?.() === 0;

const disk = (path: string, extra: Partial<{ readOnly: boolean; serial: string }> = {}, id = ''): DeviceSpec => ({
  id,
  kind: { $case: 'disk', value: { path, readOnly: extra.readOnly ?? false, serial: extra.serial ?? '' } },
});
const rng = (id = ''): DeviceSpec => ({ id, kind: { $case: 'rng', value: {} } });
const consoleDevice = (): DeviceSpec => ({ id: '', kind: { $case: 'console', value: {} } });
const balloon = (statsPeriodSeconds: number, deflateOnOom = false): DeviceSpec => ({ id: '', kind: { $case: 'balloon', value: { deflateOnOom, statsPeriodSeconds } } });
const nic = (tap: string, mac = ''): DeviceSpec => ({ id: '', kind: { $case: 'nic', value: { tap, mac } } });
const macOf = (device: DeviceSpec): string => (device.kind?.$case === 'nic' ? device.kind.value.mac : '');
const UUID = '6f1d2c3b-0a9e-4b8c-9d7e-1f2a3b4c5d6e';

async function check(devices: DeviceSpec[], uuid = UUID): Promise<Record<string, string>> {
  const bad: Record<string, string> = {};
  await validateDevices(devices, (field, description) => (bad[field] = description), undefined, uuid);
  return bad;
}

describe('validateDevices', () => {
  it('accepts disks and rngs, assigning ids by kind around the ones the user chose', async () => {
    const devices = [disk(image), rng(), disk(image, {}, 'disk0'), rng('mine'), disk(image, { readOnly: true, serial: 'SN-1' })];
    expect(await check(devices)).toEqual({});
    expect(devices.map((d) => d.id)).toEqual(['disk1', 'rng0', 'disk0', 'mine', 'disk2']);
  });

  it('refuses duplicate and malformed ids', async () => {
    const bad = await check([rng('a'), rng('a'), rng('-x')]);
    expect(bad['devices[1].id']).toMatch(/used by another device/);
    expect(bad['devices[2].id']).toMatch(/letters, digits/);
  });

  it('refuses disks whose file is missing, not a regular file, or has a serial longer than GET_ID carries', async () => {
    const bad = await check([disk(join(dir, 'nope.img')), disk(dir), disk(image, { serial: 'x'.repeat(21) }), disk('')]);
    expect(bad['devices[0].disk.path']).toMatch(/does not exist/);
    expect(bad['devices[1].disk.path']).toMatch(/not a regular file/);
    expect(bad['devices[2].disk.serial']).toMatch(/at most 20/);
    expect(bad['devices[3].disk.path']).toBe('required');
  });

  it.skipIf(runningAsRoot)('refuses a file it cannot write unless the disk is read_only', async () => {
    const bad = await check([disk(readOnlyImage), disk(readOnlyImage, { readOnly: true })]);
    expect(bad['devices[0].disk.path']).toMatch(/read_only/);
    expect(bad['devices[1].disk.path']).toBeUndefined();
  });

  it('applies the server path policy to disk paths', async () => {
    const bad: Record<string, string> = {};
    await validateDevices([disk(image)], (f, d) => (bad[f] = d), (field, path) => (path.startsWith('/forbidden') ? undefined : `${field} outside the image roots`));
    expect(bad['devices[0].disk.path']).toMatch(/outside the image roots/);
  });

  it('refuses more devices than bus 0 has slots', async () => {
    const bad = await check(Array.from({ length: 32 }, () => rng()));
    expect(bad.devices).toMatch(/at most 31 devices/);
    expect(await check(Array.from({ length: 31 }, () => rng()))).toEqual({});
  });

  it('refuses nic taps that are malformed, missing, not taps, or used twice, naming devices[i].nic.tap', async () => {
    const bad = await check([nic(''), nic('x'.repeat(16)), nic('a/b'), nic('hv-no-such-tap'), nic('lo'), nic('..')]);
    expect(bad['devices[0].nic.tap']).toBe('required');
    expect(bad['devices[1].nic.tap']).toMatch(/longer than 15 characters/);
    expect(bad['devices[2].nic.tap']).toMatch(/letters, digits/);
    expect(bad['devices[3].nic.tap']).toMatch(/"hv-no-such-tap" does not exist on this host/);
    expect(bad['devices[4].nic.tap']).toMatch(/"lo" is not a tun\/tap interface/);
    expect(bad['devices[5].nic.tap']).toMatch(/letters, digits/);
    const twice = await check([nic('hv-no-such-tap'), nic('hv-no-such-tap')]);
    expect(twice['devices[1].nic.tap']).toMatch(/already used by devices\[0\]/);
  });

  it('refuses group, zero and malformed MACs, naming devices[i].nic.mac, and normalises good ones to lower case', async () => {
    const devices = [nic('lo', '01:00:5e:00:00:01'), nic('lo', 'ff:ff:ff:ff:ff:ff'), nic('lo', '00:00:00:00:00:00'), nic('lo', '52:54:00:12:34'), nic('lo', '52-54-00-12-34-56'), nic('lo', '02:AB:cd:00:00:01')];
    const bad = await check(devices);
    expect(bad['devices[0].nic.mac']).toMatch(/multicast\/broadcast/);
    expect(bad['devices[1].nic.mac']).toMatch(/multicast\/broadcast/);
    expect(bad['devices[2].nic.mac']).toMatch(/all zeros/);
    expect(bad['devices[3].nic.mac']).toMatch(/not a MAC address/);
    expect(bad['devices[4].nic.mac']).toMatch(/not a MAC address/);
    expect(bad['devices[5].nic.mac']).toBeUndefined();
    expect(macOf(devices[5])).toBe('02:ab:cd:00:00:01');
  });

  it('generates a locally administered unicast MAC from the domain uuid and device index: the same every time', async () => {
    const first = [rng(), nic('lo'), nic('lo')];
    await check(first);
    const again = [rng(), nic('lo'), nic('lo')];
    await check(again);
    const other = [rng(), nic('lo')];
    await check(other, '00000000-0000-4000-8000-000000000000');
    expect(macOf(first[1])).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect([macOf(again[1]), macOf(again[2])]).toEqual([macOf(first[1]), macOf(first[2])]);
    expect(macOf(first[2])).not.toBe(macOf(first[1]));
    expect(macOf(other[1])).not.toBe(macOf(first[1]));
    expect(first.map((d) => d.id)).toEqual(['rng0', 'nic0', 'nic1']);
  });

  it('still refuses kinds without a device model, naming them', async () => {
    const bad = await check([{ id: '', kind: { $case: 'pvpanic', value: {} } }]);
    expect(bad['devices[0]']).toMatch(/every domain has the ISA pvpanic device at port 0x505/);
  });

  it('accepts console devices (ids console0, console1, ...) and one balloon', async () => {
    const devices = [consoleDevice(), consoleDevice(), balloon(10, true)];
    expect(await check(devices)).toEqual({});
    expect(devices.map((d) => d.id)).toEqual(['console0', 'console1', 'balloon0']);
  });

  it('refuses a second balloon and a statistics period beyond an hour, naming the field', async () => {
    const bad = await check([balloon(0), balloon(MAX_BALLOON_STATS_PERIOD_SECONDS + 1)]);
    expect(bad['devices[1]']).toMatch(/at most one balloon device per domain \(devices\[0\] is one\)/);
    expect(bad['devices[1].balloon.stats_period_seconds']).toMatch(/at most 3600 seconds/);
    expect(await check([balloon(MAX_BALLOON_STATS_PERIOD_SECONDS)])).toEqual({});
  });
});
