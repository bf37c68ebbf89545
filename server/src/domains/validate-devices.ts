import { constants, promises as fs } from 'node:fs';
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import { formatMac, generateMac, macProblem, parseMac, tapNameProblem } from '../../../engine/src/virtio/net';

/** Longest virtio-blk serial: the GET_ID answer is 20 bytes. */
export const MAX_DISK_SERIAL_BYTES = 20;
/** Device ids as hvd assigns them and users may choose them. */
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Each device takes a PCI slot on bus 0; slot 0 is the host bridge. */
export const MAX_DEVICES = 31;
/** Kinds the engine serves as PCI devices, as DomainCapabilities lists them (pvpanic is a fixed ISA device, see below). */
export const DEVICE_KINDS = ['disk', 'nic', 'console', 'rng', 'balloon'] as const;
const SUPPORTED: ReadonlySet<string> = new Set(DEVICE_KINDS);
/** Longest balloon statistics period: one hour (0 disables statistics). */
export const MAX_BALLOON_STATS_PERIOD_SECONDS = 3600;
/** IFF_TAP in /sys/class/net/<name>/tun_flags: the tun/tap interface is a tap (Ethernet frames). */
const IFF_TAP = 0x0002;

/**
 * Checks spec.devices (fields named devices[i]...) and normalises them in place: empty ids become "<kind><n>"
 * (disk0, disk1, rng0) skipping ids taken by the spec; disks must be readable regular files, writable unless
 * read_only; a nic's tap must be an existing tap on this host, used once, and an empty mac becomes one generated
 * from `domainUuid` and the device's index. `checkPath` applies the server's image-path policy when there is one.
 */
export async function validateDevices(
  devices: DeviceSpec[],
  fail: (field: string, description: string) => void,
  checkPath?: (field: string, path: string) => string | undefined,
  domainUuid = '',
): Promise<void> {
  if (devices.length > MAX_DEVICES) fail('devices', `at most ${MAX_DEVICES} devices (one PCI slot each on bus 0)`);
  const taken = new Set<string>();
  devices.forEach((device, i) => {
    if (device.id === '') return;
    if (!DEVICE_ID.test(device.id)) fail(`devices[${i}].id`, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');
    else if (taken.has(device.id)) fail(`devices[${i}].id`, `"${device.id}" is used by another device`);
    taken.add(device.id);
  });
  const next = new Map<string, number>();
  let balloonAt: number | undefined;
  for (const [i, device] of devices.entries()) {
    const kind = device.kind?.$case;
    if (kind === 'pvpanic') {
      fail(`devices[${i}]`, 'every domain has the ISA pvpanic device at port 0x505: leave it out of devices');
      continue;
    }
    if (kind === undefined || !SUPPORTED.has(kind)) {
      fail(`devices[${i}]`, `${kind ?? 'unknown'} devices are not supported`);
      continue;
    }
    if (device.id === '') {
      let n = next.get(kind) ?? 0;
      while (taken.has(`${kind}${n}`)) n++;
      device.id = `${kind}${n}`;
      taken.add(device.id);
      next.set(kind, n + 1);
    }
    if (device.kind?.$case === 'disk') await checkDisk(device.kind.value, `devices[${i}].disk`, fail, checkPath);
    if (device.kind?.$case === 'balloon') {
      if (balloonAt !== undefined) fail(`devices[${i}]`, `at most one balloon device per domain (devices[${balloonAt}] is one)`);
      balloonAt ??= i;
      if (device.kind.value.statsPeriodSeconds > MAX_BALLOON_STATS_PERIOD_SECONDS) {
        fail(`devices[${i}].balloon.stats_period_seconds`, `at most ${MAX_BALLOON_STATS_PERIOD_SECONDS} seconds; 0 disables statistics`);
      }
    }
    if (device.kind?.$case === 'nic') await checkNic(device.kind.value, i, devices, domainUuid, fail);
  }
}

async function checkNic(
  nic: { tap: string; mac: string },
  index: number,
  devices: DeviceSpec[],
  domainUuid: string,
  fail: (field: string, description: string) => void,
): Promise<void> {
  const at = `devices[${index}].nic`;
  if (nic.mac === '') nic.mac = generateMac(domainUuid, index);
  else {
    const mac = parseMac(nic.mac);
    const problem = mac ? macProblem(mac) : `"${nic.mac}" is not a MAC address (six hex octets: 52:54:00:12:34:56)`;
    if (problem !== undefined) fail(`${at}.mac`, mac ? `${nic.mac} ${problem}` : problem);
    else nic.mac = formatMac(mac!);
  }
  const nameProblem = tapNameProblem(nic.tap);
  if (nameProblem !== undefined) {
    fail(`${at}.tap`, nameProblem);
    return;
  }
  const first = devices.findIndex((d) => d.kind?.$case === 'nic' && d.kind.value.tap === nic.tap);
  if (first < index) {
    fail(`${at}.tap`, `tap "${nic.tap}" is already used by devices[${first}] (a tap has one user)`);
    return;
  }
  // The tap belongs to the host's network set-up (libvirt's managed='no'): hv attaches to it, never creates it.
  let flags: number;
  try {
    flags = parseInt(await fs.readFile(`/sys/class/net/${nic.tap}/tun_flags`, 'utf8'), 16);
  } catch (err) {
    const exists = await fs.stat(`/sys/class/net/${nic.tap}`).then(() => true, () => false);
    const code = (err as NodeJS.ErrnoException).code;
    fail(`${at}.tap`, exists ? `"${nic.tap}" is not a tun/tap interface` : code === 'ENOENT' ? `tap "${nic.tap}" does not exist on this host` : (err as Error).message);
    return;
  }
  if ((flags & IFF_TAP) === 0) fail(`${at}.tap`, `"${nic.tap}" is a tun interface (IP packets), not a tap (Ethernet frames)`);
}

async function checkDisk(
  disk: { path: string; readOnly: boolean; serial: string },
  at: string,
  fail: (field: string, description: string) => void,
  checkPath?: (field: string, path: string) => string | undefined,
): Promise<void> {
  if (Buffer.byteLength(disk.serial) > MAX_DISK_SERIAL_BYTES || !/^[\x20-\x7e]*$/.test(disk.serial)) {
    fail(`${at}.serial`, `at most ${MAX_DISK_SERIAL_BYTES} printable ASCII characters`);
  }
  if (disk.path === '') {
    fail(`${at}.path`, 'required');
    return;
  }
  const policy = checkPath?.(`${at}.path`, disk.path);
  if (policy !== undefined) {
    fail(`${at}.path`, policy);
    return;
  }
  try {
    const stat = await fs.stat(disk.path);
    if (!stat.isFile()) {
      fail(`${at}.path`, `${disk.path} is not a regular file`);
      return;
    }
    await fs.access(disk.path, disk.readOnly ? constants.R_OK : constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? `is not ${disk.readOnly ? 'readable' : 'readable and writable'} (set read_only for a read-only disk)` : (err as Error).message;
    fail(`${at}.path`, `${disk.path} ${why}`);
  }
}
