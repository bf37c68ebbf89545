import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';

/** Where the host UUID came from. */
export type HostUuidSource = 'dmi' | 'machine-id' | 'none';

export interface HostUuid {
  uuid: string;
  source: HostUuidSource;
}

/** SMBIOS type 1 system UUID as the kernel exports it (root-readable only: mode 0400). */
const DMI_PRODUCT_UUID = 'class/dmi/id/product_uuid';
/** systemd's machine id (machine-id(5)), then D-Bus's copy (the documented fallback location). */
export const MACHINE_ID_PATHS = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;
/**
 * Namespace of hv's name-based host UUIDs (RFC 9562 §5.5). A fixed random UUID chosen for hv; never change it,
 * or every derived host uuid changes.
 */
export const HV_HOST_UUID_NAMESPACE = '03486e92-9660-4776-b179-f5d61f8d4231';
/**
 * Firmware placeholders that are not a real identity: every byte equal (all 0x00 or 0xFF: "not set", SMBIOS 2.6
 * §7.2.1; libvirt's virUUIDIsValid rejects any all-same-byte UUID) and the counting pattern many boards ship.
 */
const PLACEHOLDER_UUIDS = new Set(['03000200-0400-0500-0006-000700080009']);
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** machine-id(5): 32 lower-case hex characters. */
const MACHINE_ID_TEXT = /^[0-9a-f]{32}$/;

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether a UUID text is a real identity rather than unset firmware data. */
export function isUsableSmbiosUuid(text: string): boolean {
  const uuid = text.toLowerCase();
  if (!UUID_TEXT.test(uuid) || PLACEHOLDER_UUIDS.has(uuid)) return false;
  const hex = uuid.replace(/-/g, '');
  return !/^(..)\1{15}$/.test(hex);
}

/** RFC 9562 §5.5 version 5 UUID: SHA-1 of namespace bytes then name bytes, version and variant bits set. */
export function uuidV5(namespace: string, name: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(Buffer.from(name, 'utf8'))
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // variant 10xx (RFC 4122/9562)
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The host UUID, in this order:
 * 1. the SMBIOS system UUID (<sysRoot>/class/dmi/id/product_uuid, lower-cased) when readable (hvd runs as root) and
 *    not a placeholder — the same identity libvirt reports and `dmidecode -s system-uuid` prints;
 * 2. otherwise a version 5 UUID of the machine id under HV_HOST_UUID_NAMESPACE: stable for the installation,
 *    deterministic, and not the machine id itself (machine-id(5) asks not to expose it; the hash is one-way);
 * 3. otherwise "" (source "none"): no identity to report, and inventing a random one would change on every start.
 */
export function readHostUuid(sysRoot = '/sys', machineIdPaths: readonly string[] = MACHINE_ID_PATHS): HostUuid {
  const dmi = readOptional(join(sysRoot, DMI_PRODUCT_UUID));
  if (dmi !== undefined && isUsableSmbiosUuid(dmi)) return { uuid: dmi.toLowerCase(), source: 'dmi' };
  for (const path of machineIdPaths) {
    const machineId = readOptional(path);
    if (machineId !== undefined && MACHINE_ID_TEXT.test(machineId)) {
      return { uuid: uuidV5(HV_HOST_UUID_NAMESPACE, machineId), source: 'machine-id' };
    }
  }
  return { uuid: '', source: 'none' };
}

/** The host name (gethostname(2); re-read on each call, it can change at run time). */
export function readHostname(): string {
  return hostname();
}

/** The kernel release, as `uname -r` prints it. */
export function readKernelRelease(): string {
  return release();
}
