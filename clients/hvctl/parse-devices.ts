import { resolve } from 'node:path';
import type { DeviceSpec } from '../../gen/hypervisor/v1/domain';

/** `path[,ro][,serial=S]` → a disk (a relative path is taken from the current directory, as hvd needs it absolute). */
export function parseDisk(text: string): DeviceSpec {
  const [path, ...options] = text.split(',');
  if (path === '') throw new Error(`--disk "${text}": a path comes first`);
  let readOnly = false;
  let serial = '';
  for (const option of options) {
    if (option === 'ro') readOnly = true;
    else if (option.startsWith('serial=')) serial = option.slice('serial='.length);
    else throw new Error(`--disk "${text}": unknown option "${option}" (ro, serial=S)`);
  }
  return { id: '', kind: { $case: 'disk', value: { path: resolve(path), readOnly, serial } } };
}

/** `tap[,mac=M]` → a nic on an existing tap (hvd generates the MAC when none is given). */
export function parseNic(text: string): DeviceSpec {
  const [tap, ...options] = text.split(',');
  if (tap === '') throw new Error(`--nic "${text}": a tap name comes first`);
  let mac = '';
  for (const option of options) {
    if (option.startsWith('mac=')) mac = option.slice('mac='.length);
    else throw new Error(`--nic "${text}": unknown option "${option}" (mac=M)`);
  }
  return { id: '', kind: { $case: 'nic', value: { tap, mac } } };
}

/** `[stats=SECONDS][,deflate-on-oom]` → a balloon. */
export function parseBalloon(text: string): DeviceSpec {
  let statsPeriodSeconds = 0;
  let deflateOnOom = false;
  for (const option of text === '' ? [] : text.split(',')) {
    const stats = /^stats=(\d+)$/.exec(option);
    if (stats) statsPeriodSeconds = Number(stats[1]);
    else if (option === 'deflate-on-oom') deflateOnOom = true;
    else throw new Error(`--balloon "${text}": unknown option "${option}" (stats=SECONDS, deflate-on-oom)`);
  }
  return { id: '', kind: { $case: 'balloon', value: { statsPeriodSeconds, deflateOnOom } } };
}

export const consoleDevice = (): DeviceSpec => ({ id: '', kind: { $case: 'console', value: {} } });
export const rngDevice = (): DeviceSpec => ({ id: '', kind: { $case: 'rng', value: {} } });
