import * as fs from 'node:fs';

/** Mode of the main API socket: owner and group may connect (libvirt's unix_sock_rw_perms with a group). */
export const MAIN_SOCKET_MODE = 0o660;
/** Mode of the read-only socket: every local user may look (libvirt's unix_sock_ro_perms, 0777). */
export const READ_ONLY_SOCKET_MODE = 0o666;

/**
 * Resolves a group given by name (looked up in /etc/group) or by number, as `--socket-group` takes it.
 * Throws with a clear message for an unknown name.
 */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  const text = fs.existsSync(groupFile) ? fs.readFileSync(groupFile, 'utf8') : '';
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`unknown group "${group}" (not in ${groupFile})`);
}

/** The read-only socket's default path: beside the main one, "hvd.sock" → "hvd-ro.sock". */
export function defaultReadOnlySocket(mainSocket: string): string {
  return mainSocket.endsWith('.sock') ? `${mainSocket.slice(0, -'.sock'.length)}-ro.sock` : `${mainSocket}-ro`;
}

/** Gives a freshly bound socket its mode and, when asked, its group (the owner stays hvd's user). */
export function applySocketAccess(socket: string, mode: number, gid?: number): void {
  if (gid !== undefined) fs.chownSync(socket, -1, gid);
  fs.chmodSync(socket, mode);
}
