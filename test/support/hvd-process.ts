import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, unaryCall, type HvClients } from '../../clients/hvctl/connect';
import { afterAll, beforeAll } from 'vitest';

export const REPO = path.resolve(__dirname, '../..');
export const HVD_MAIN = path.join(REPO, 'dist/server/src/main.js');
export const HVCTL_MAIN = path.join(REPO, 'dist/clients/hvctl/main.js');

/** A real hvd process from the compiled tree, on a unix socket in a fresh temporary directory. */
export interface HvdUnderTest {
  dir: string;
  stateDir: string;
  socket: string;
  runDir: string;
  process: ChildProcess;
  clients: HvClients;
  /** Engine pids whose pid files are in the run dir now. */
  enginePids(): number[];
  /** Stops hvd and kills every engine it left (tests must not leak processes). */
  stop(): Promise<void>;
  /** SIGKILLs hvd alone: engines keep running (for restart tests; start again with startHvd(dir)). */
  kill(): Promise<void>;
}

/** Where and how hvd runs: `netns` puts it (and so its engines) in that network namespace (`ip netns exec`); `env` replaces the environment hvd and its engines inherit. */
export interface HvdPlacement {
  netns?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts hvd in a fresh temporary directory, or again in `reuseDir` (a restart: same socket, run and state dirs). */
export async function startHvd(reuseDir?: string, extraArgs: readonly string[] = [], placement: HvdPlacement = {}): Promise<HvdUnderTest> {
  if (!fs.existsSync(HVD_MAIN)) throw new Error(`${HVD_MAIN} is missing: run 'npm run build' first`);
  // Short paths: unix socket paths must stay under 108 bytes.
  const dir = reuseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hv-'));
  const socket = path.join(dir, 'hvd.sock');
  const runDir = path.join(dir, 'run');
  const stateDir = path.join(dir, 'state');
  const args = [HVD_MAIN, '--socket', socket, '--run-dir', runDir, '--state-dir', stateDir, '--log-level', 'warn', ...extraArgs];
  // ip netns exec execs the command itself, so the child's pid is still hvd's.
  const [command, argv] = placement.netns ? ['ip', ['netns', 'exec', placement.netns, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit'], env: placement.env ?? process.env });
  // A restarted hvd finds the old socket file: wait until the new process answers on it.
  await waitFor(() => fs.existsSync(socket), 10_000, `hvd socket ${socket}`);
  const clients = connect(socket);
  await answers(clients, 10_000);
  const enginePids = () =>
    fs.existsSync(runDir)
      ? fs.readdirSync(runDir).flatMap((d) => {
          const pidFile = path.join(runDir, d, 'engine.pid');
          return fs.existsSync(pidFile) ? [Number(fs.readFileSync(pidFile, 'utf8'))] : [];
        })
      : [];
  return {
    dir,
    stateDir,
    socket,
    runDir,
    process: child,
    clients,
    enginePids,
    kill: async () => {
      clients.close();
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    },
    stop: async () => {
      clients.close();
      for (const pid of enginePids()) killGroup(pid);
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answers(clients: HvClients, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await unaryCall(clients.capabilities.getDomainCapabilities.bind(clients.capabilities), { type: 2 }, { deadline: Date.now() + 2000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
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

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One hvd for a whole test file: started before its tests, stopped after them, in its own temporary directory.
 * Tests reach it through the returned function (it throws outside a test, when no hvd runs).
 */
export function hvdPerFile(extraArgs: readonly string[] = [], placement: HvdPlacement = {}): () => HvdUnderTest {
  let hvd: HvdUnderTest | undefined;
  beforeAll(async () => {
    hvd = await startHvd(undefined, extraArgs, placement);
  });
  afterAll(async () => {
    await hvd?.stop();
  });
  return () => {
    if (!hvd) throw new Error('hvd is not running: use it inside a test');
    return hvd;
  };
}
