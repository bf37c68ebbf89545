/**
 * Processes a bench starts, and how it ends them: hvd (a child), the engines hvd spawns (detached, each leading
 * its own process group, pid files in the run dir) and QEMU (spawned here as a group leader). Every bench ends
 * every one of them on the way out, whether it finishes, fails, times out or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type HvClients } from '../../clients/hvctl/connect';
import { TimedOutput } from './timed-output';

/** The repository root: the nearest directory above this file holding package.json (works from bench/ and dist/bench/). */
export const REPO = findRepo(__dirname);
export const HVD_MAIN = path.join(REPO, 'dist/server/src/main.js');
export const GUEST_ELF = path.join(REPO, 'test/guests/build/guest.elf');
export const QEMU = process.env.QEMU ?? 'qemu-system-x86_64';

const cleanups = new Set<() => void>();

/** Registers a synchronous cleanup run at exit (also on a signal, an uncaught error or the watchdog). */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function runCleanups(): void {
  for (const fn of [...cleanups].reverse()) {
    try {
      fn();
    } catch {
      // Best effort: keep ending the others.
    }
  }
  cleanups.clear();
}

process.on('exit', runCleanups);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    runCleanups();
    process.exit(130);
  });
}

/** Ends the bench (with its processes) if it runs longer than `ms`. */
/** Runs a bench's main and exits: 0 when it is done (whatever it left open), 1 with the error; cleanups run on exit. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export function watchdog(ms: number, name: string): void {
  setTimeout(() => {
    console.error(`${name}: watchdog fired after ${ms} ms; killing everything it started`);
    runCleanups();
    process.exit(2);
  }, ms).unref();
}

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone (or not a group leader: kill the pid alone).
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** One /proc/<pid>/status field in bytes (VmHWM = peak RSS, VmRSS = current RSS). */
export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A real hvd from the compiled tree on a unix socket in a fresh temporary directory. */
export interface Hvd {
  runDir: string;
  process: ChildProcess;
  clients: HvClients;
  stop(): Promise<void>;
}

export async function startHvd(): Promise<Hvd> {
  if (!fs.existsSync(HVD_MAIN)) throw new Error(`${HVD_MAIN} is missing: run 'npm run build' first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvb-'));
  const socket = path.join(dir, 'hvd.sock');
  const runDir = path.join(dir, 'run');
  // Its own state dir too: a bench never touches the host's /var/lib/hv.
  const stateDir = path.join(dir, 'state');
  const child = spawn(process.execPath, [HVD_MAIN, '--socket', socket, '--run-dir', runDir, '--state-dir', stateDir, '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const enginePids = () =>
    fs.existsSync(runDir)
      ? fs.readdirSync(runDir).flatMap((d) => {
          const pidFile = path.join(runDir, d, 'engine.pid');
          const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : 0;
          return pid > 0 ? [pid] : [];
        })
      : [];
  const seenEngines = new Set<number>();
  const killAll = () => {
    for (const pid of [...enginePids(), ...seenEngines]) killGroup(pid);
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(killAll);
  await waitFor(() => fs.existsSync(socket) || child.exitCode !== null, 10_000, `hvd socket ${socket}`);
  if (child.exitCode !== null) throw new Error(`hvd exited with ${child.exitCode} before listening`);
  const clients = connect(socket);
  return {
    runDir,
    process: child,
    clients,
    stop: async () => {
      clients.close();
      for (const pid of enginePids()) killGroup(pid);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(3000)]);
      }
      killAll();
      unregister();
    },
  };
}

/** A QEMU process in its own process group, stdout stamped chunk by chunk, killed (group) at cleanup. */
export interface Qemu {
  child: ChildProcess;
  pid: number;
  /** Its stdout (the guest's serial port with -serial stdio). */
  output: TimedOutput;
  /** hrtime (ns) just before spawn was called. */
  spawnedAt: bigint;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function startQemu(args: string[]): Qemu {
  let stderr = '';
  const output = new TimedOutput(() => `\nqemu stderr:\n${stderr}`);
  const spawnedAt = process.hrtime.bigint();
  const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${QEMU}`);
  const unregister = onCleanup(() => killGroup(pid));
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString('latin1')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    pid,
    output,
    spawnedAt,
    exited,
    kill: async () => {
      killGroup(pid);
      await exited;
      unregister();
    },
  };
}

function findRepo(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
