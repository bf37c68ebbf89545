import * as fs from 'node:fs';
import * as path from 'node:path';
import { GuestStop } from '../../../gen/hypervisor/engine/v1/engine_service';
import { DomainSpec, DomainStatus } from '../../../gen/hypervisor/v1/domain';

/**
 * An engine's run directory: everything that must outlive hvd lives here, written by the engine itself
 * (pid, control socket, stdout/stderr, the exit record) or by hvd once before spawning it (domain.json).
 */
export interface RunDir {
  dir: string;
  /** The engine's control socket (EngineService). */
  socket: string;
  pid: string;
  /** Domain id and spec, written by hvd before it spawns the engine. */
  domain: string;
  stdout: string;
  stderr: string;
  /** How the guest ended (GuestStop: final status and cause), written by the engine just before it exits. */
  exit: string;
}

/** Unix socket paths longer than this do not fit sockaddr_un.sun_path (108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107;
/** Run directories use this many hex digits of the domain UUID, keeping socket paths short. */
const RUN_DIR_ID_CHARS = 12;

export function runDirFor(root: string, domainId: string): RunDir {
  const dir = path.join(root, domainId.replace(/-/g, '').slice(0, RUN_DIR_ID_CHARS));
  return runDirAt(dir);
}

export function runDirAt(dir: string): RunDir {
  const socket = path.join(dir, 'engine.sock');
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(`engine socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter run directory`);
  }
  return {
    dir,
    socket,
    pid: path.join(dir, 'engine.pid'),
    domain: path.join(dir, 'domain.json'),
    stdout: path.join(dir, 'stdout.log'),
    stderr: path.join(dir, 'stderr.log'),
    exit: path.join(dir, 'exit.json'),
  };
}

/**
 * The images hvd opened and checked for the engine, as the engine's file descriptor numbers (hvd passes them in
 * its stdio slots 3, 4, …): the engine reads and writes these, never the spec's paths, which could have changed.
 */
export interface LaunchFiles {
  kernel: number;
  initrd?: number;
  /** By device id (spec.devices[].id). */
  disks: Record<string, number>;
}

export interface EngineLaunch {
  domainId: string;
  spec: DomainSpec;
  files?: LaunchFiles;
}

export function writeLaunch(runDir: RunDir, launch: EngineLaunch): void {
  writeAtomically(runDir.domain, JSON.stringify({ domainId: launch.domainId, spec: DomainSpec.toJSON(launch.spec), files: launch.files }));
}

export function readLaunch(runDir: RunDir): EngineLaunch {
  const raw = JSON.parse(fs.readFileSync(runDir.domain, 'utf8')) as { domainId?: unknown; spec?: unknown; files?: LaunchFiles };
  if (typeof raw.domainId !== 'string' || raw.spec === undefined) throw new Error(`${runDir.domain} is not a domain launch file`);
  return { domainId: raw.domainId, spec: DomainSpec.fromJSON(raw.spec), files: raw.files };
}

export function writeExitRecord(runDir: RunDir, stop: GuestStop): void {
  writeAtomically(runDir.exit, JSON.stringify(GuestStop.toJSON(stop)));
}

/** How the engine recorded its guest's end, or undefined when it ended without writing it (killed, crashed). */
export function readExitRecord(runDir: RunDir): GuestStop | undefined {
  let raw: { status?: unknown };
  try {
    raw = JSON.parse(fs.readFileSync(runDir.exit, 'utf8')) as { status?: unknown };
  } catch {
    return undefined;
  }
  // Engines from before the stop cause wrote the bare DomainStatus: their cause is unspecified.
  if (raw.status === undefined || typeof raw.status !== 'object') return GuestStop.fromPartial({ status: DomainStatus.fromJSON(raw) });
  return GuestStop.fromJSON(raw);
}

/** Write-then-rename, so a reader never sees half a file even if the writer dies mid-write. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
