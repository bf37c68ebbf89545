import { constants as osConstants } from 'node:os';
import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import { native, type NativeTap } from '../../native';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { NetBackend } from './net-backend';

/** Longest interface name Linux takes (IFNAMSIZ 16, with the NUL). */
export const TAP_NAME_MAX = 15;
/** Characters hv accepts in a tap name: a portable subset of what Linux allows (no "/", ":" or spaces). */
const TAP_NAME = /^[A-Za-z0-9_.-]+$/;

/** Why `name` cannot name a tap interface, or undefined. */
export function tapNameProblem(name: string): string | undefined {
  if (name === '') return 'required';
  if (Buffer.byteLength(name) > TAP_NAME_MAX) return `"${name}" is longer than ${TAP_NAME_MAX} characters (IFNAMSIZ)`;
  if (!TAP_NAME.test(name) || name === '.' || name === '..') return `"${name}" may only hold letters, digits, "_", "." and "-"`;
  return undefined;
}

export interface TapStats {
  rxFrames: number;
  txFrames: number;
  /** Frames the kernel refused (queue full, interface down): dropped, as a NIC drops on a full ring. */
  txDropped: number;
}

/**
 * A host tap interface as a NetBackend. The tap must already exist (created by the host's network set-up, as with
 * Firecracker's host_dev_name or libvirt's unmanaged ethernet interfaces); it is attached with IFF_TAP | IFF_NO_PI
 * and read by a libuv poll on the loop thread (engine/native/src/tap.cc), so frames arrive between vCPU slices.
 */
export class TapBackend implements NetBackend {
  readonly stats: TapStats = { rxFrames: 0, txFrames: 0, txDropped: 0 };
  private listener: (frame: Uint8Array) => void = () => undefined;
  private readonly drops: GuestErrorLog;
  private tap!: NativeTap;

  private constructor(
    readonly name: string,
    private readonly logger: WarnLogger,
  ) {
    this.drops = new GuestErrorLog(`tap ${name}`, logger);
  }

  /** Attaches to tap `name`; throws an Error naming the tap and saying what is wrong. */
  static open(name: string, logger: WarnLogger = NULL_LOGGER): TapBackend {
    const problem = tapNameProblem(name);
    if (problem !== undefined) throw new Error(`tap name ${problem}`);
    const backend = new TapBackend(name, logger);
    try {
      backend.tap = new native.Tap(name, (error, frame) => backend.onFrame(error, frame));
    } catch (err) {
      throw new Error(describeOpenError(name, err as NodeJS.ErrnoException));
    }
    return backend;
  }

  send(frame: Uint8Array): void {
    const errno = this.tap.write(frame);
    if (errno === 0) {
      this.stats.txFrames++;
      return;
    }
    this.stats.txDropped++;
    this.drops.report(`frame of ${frame.length} bytes dropped: ${errnoName(errno)}`);
  }

  onReceive(listener: (frame: Uint8Array) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.tap.close();
  }

  private onFrame(error: Error | null, frame?: Uint8Array): void {
    if (error !== null) {
      this.logger.warn({ tap: this.name, err: error.message }, `tap ${this.name}: reading stopped: ${error.message}`);
      return;
    }
    this.stats.rxFrames++;
    try {
      this.listener(frame!);
    } catch (err) {
      this.logger.warn({ tap: this.name, err: String(err) }, `tap ${this.name}: receiver failed`);
    }
  }
}

function describeOpenError(name: string, err: NodeJS.ErrnoException): string {
  if (err.message.startsWith('open /dev/net/tun')) return `cannot attach tap "${name}": ${err.message}`;
  switch (err.code) {
    case 'ENODEV':
      return `tap "${name}" does not exist (create it first: ip tuntap add dev ${name} mode tap)`;
    case 'EBUSY':
      return `tap "${name}" is in use by another process`;
    case 'EPERM':
    case 'EACCES':
      return `no permission to attach tap "${name}" (its owner or group, or CAP_NET_ADMIN)`;
    case 'EINVAL':
      return `"${name}" is not a tap interface hv can attach (a tun, another kind of link, or a multi_queue tap)`;
    default:
      return `cannot attach tap "${name}": ${err.message}`;
  }
}

function errnoName(errno: number): string {
  const entry = Object.entries(osConstants.errno).find(([, value]) => value === errno);
  return entry ? entry[0] : `errno ${errno}`;
}
