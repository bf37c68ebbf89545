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

async function check(devices: DeviceSpec[]): Promise<Record<string, string>> {
  const bad: Record<string, string> = {};
  await validateDevices(devices, (field, description) => (bad[field] = description));
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

  it('still refuses kinds without a device model, naming them', async () => {
    const bad = await check([{ id: '', kind: { $case: 'pvpanic', value: {} } }]);
    expect(bad['devices[0]']).toMatch(/pvpanic devices are not supported yet/);
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
