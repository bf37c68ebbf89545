import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  EngineServiceClient,
  StopCause,
  type GetStateResponse,
  type GuestStop,
  type PauseResponse,
  type PowerButtonResponse,
  type ResetResponse,
  type ResumeResponse,
  type WatchEventsResponse,
} from '../../../gen/hypervisor/engine/v1/engine_service';
import type { DomainSpec, DomainStateReason, DomainStatus } from '../../../gen/hypervisor/v1/domain';
import { readExitRecord, runDirFor, writeLaunch, type RunDir } from '../../../engine/src/control/run-dir';
import { engineEnv } from '../../../engine/src/native/sanitizer-env';
import { failedPrecondition, unavailable } from '../errors';

/** How an engine ended: its own exit record (final status and stop cause) when it wrote one, and what the kernel said. */
export interface EngineExit {
  record: GuestStop | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  runRoot: string;
  /** The compiled engine entry point (dist/engine/src/main.js). */
  engineMain: string;
  domainId: string;
  spec: DomainSpec;
  /** hvd's fds of the images it opened for the engine: passed in stdio slots 3, 4, … (the caller closes its own). */
  files?: { kernel: number; initrd?: number; disks: Record<string, number> };
  /** How long the engine may take to serve its control socket. */
  readyTimeoutMs?: number;
}

/** The engine failed before it served its control socket; the message says why (from its exit record or stderr). */
/** An engine that did not come up; `setUpRefused` when it ran and said why it could not set up the guest. */
export class EngineStartError extends Error {
  constructor(
    message: string,
    readonly setUpRefused = false,
  ) {
    super(message);
  }
}

const READY_POLL_MS = 20;
const PING_TIMEOUT_MS = 1000;
const CONTROL_CALL_TIMEOUT_MS = 5000;
/** How long a failed control call waits to learn whether the engine ended. */
const ENDED_GRACE_MS = 1000;
const DEFAULT_READY_TIMEOUT_MS = 10_000;
const STDERR_TAIL_BYTES = 2048;

/** How often an engine hvd did not spawn itself (reattached after a restart) is checked for liveness. */
const ATTACHED_POLL_MS = 250;

/**
 * One running engine process: spawned detached in its own process group, reached over its control socket. hvd
 * either spawned it (and learns of its end from the kernel) or reattached to it after a restart (and polls it).
 */
export class EngineProcess {
  readonly client: EngineServiceClient;
  readonly exited: Promise<EngineExit>;
  private ended = false;

  private constructor(
    readonly runDir: RunDir,
    readonly pid: number,
    child: ChildProcess | undefined,
  ) {
    this.client = new EngineServiceClient(`unix://${runDir.socket}`, credentials.createInsecure());
    this.exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child) return child.once('exit', (code, signal) => resolve({ code, signal }));
      const timer = setInterval(() => {
        if (!isAlive(pid)) {
          clearInterval(timer);
          resolve({ code: null, signal: null });
        }
      }, ATTACHED_POLL_MS);
    }).then(({ code, signal }) => {
      this.ended = true;
      // Closed a turn later, so calls still open (console streams) first see the engine's end.
      setImmediate(() => this.client.close());
      return { record: readExitRecord(runDir), code, signal };
    });
  }

  /** Reattaches to an engine that kept running while hvd was down; undefined unless its pid is alive. */
  static attach(runDir: RunDir): EngineProcess | undefined {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(runDir.pid, 'utf8'));
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isEngineOf(pid, runDir)) return undefined;
    return new EngineProcess(runDir, pid, undefined);
  }

  static async spawn(options: SpawnOptions): Promise<EngineProcess> {
    // HV_ENGINE_BUILD=asan in hvd's environment: engines load the sanitizer addon, with libasan preloaded.
    let env: NodeJS.ProcessEnv;
    try {
      env = engineEnv(process.env);
    } catch (err) {
      throw new EngineStartError((err as Error).message);
    }
    const runDir = runDirFor(options.runRoot, options.domainId);
    fs.rmSync(runDir.dir, { recursive: true, force: true });
    fs.mkdirSync(runDir.dir, { recursive: true, mode: 0o700 });
    // The images go in the stdio slots after stderr; the launch file tells the engine which slot is which.
    const passed: number[] = [];
    const slot = (fd: number) => 3 + passed.push(fd) - 1;
    const files = options.files;
    const launchFiles = files && {
      kernel: slot(files.kernel),
      initrd: files.initrd !== undefined ? slot(files.initrd) : undefined,
      disks: Object.fromEntries(Object.entries(files.disks).map(([id, fd]) => [id, slot(fd)])),
    };
    writeLaunch(runDir, { domainId: options.domainId, spec: options.spec, files: launchFiles });
    const stdout = fs.openSync(runDir.stdout, 'a');
    const stderr = fs.openSync(runDir.stderr, 'a');
    let child: ChildProcess;
    try {
      // Detached with file stdio: the engine outlives hvd and never gets SIGPIPE from a closed pipe.
      child = spawn(process.execPath, [options.engineMain, runDir.dir], { detached: true, stdio: ['ignore', stdout, stderr, ...passed], env });
    } finally {
      fs.closeSync(stdout);
      fs.closeSync(stderr);
    }
    const engine = new EngineProcess(runDir, child.pid ?? 0, child);
    try {
      await engine.waitReady(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    } catch (err) {
      engine.kill();
      await engine.exited;
      engine.removeRunDir();
      throw err;
    }
    return engine;
  }

  getState(): Promise<GetStateResponse> {
    return this.call((deadline, cb) => this.client.getState({}, new Metadata(), { deadline }, cb));
  }

  async pause(): Promise<DomainStatus> {
    return statusOf(await this.call<PauseResponse>((deadline, cb) => this.client.pause({}, new Metadata(), { deadline }, cb)));
  }

  async resume(reason: DomainStateReason): Promise<DomainStatus> {
    return statusOf(await this.call<ResumeResponse>((deadline, cb) => this.client.resume({ reason }, new Metadata(), { deadline }, cb)));
  }

  async reset(): Promise<DomainStatus> {
    return statusOf(await this.call<ResetResponse>((deadline, cb) => this.client.reset({}, new Metadata(), { deadline }, cb)));
  }

  async pressPowerButton(): Promise<void> {
    await this.call<PowerButtonResponse>((deadline, cb) => this.client.powerButton({}, new Metadata(), { deadline }, cb));
  }

  /** Follows the engine's events (a preserved guest, device failures) until the engine ends. */
  watchEvents(listener: (event: WatchEventsResponse) => void): void {
    if (this.ended) return;
    const stream = this.client.watchEvents({});
    stream.on('data', listener);
    // The stream ends with the engine; its end is learnt from `exited`.
    stream.on('error', () => undefined);
    void this.exited.then(() => stream.cancel());
  }

  /** A unary control call with a deadline; failures become UNAVAILABLE (the engine is gone or stuck). */
  private call<Res>(invoke: (deadline: number, callback: (err: ServiceError | null, response: Res) => void) => void): Promise<Res> {
    return new Promise<Res>((resolve, reject) =>
      invoke(Date.now() + CONTROL_CALL_TIMEOUT_MS, (err, response) => (err ? reject(err) : resolve(response))),
    ).catch(async (err: ServiceError) => {
      // An engine killed during the call (a concurrent destroy) is a state change, not an outage.
      const gone = await Promise.race([this.exited.then(() => true), delay(ENDED_GRACE_MS).then(() => false)]);
      if (gone) throw failedPrecondition(`the domain stopped during the call (engine ${this.pid} ended)`);
      throw unavailable(`engine ${this.pid} did not answer: ${err.details}`);
    });
  }

  /** Stops the engine at once: SIGKILL to its whole process group. */
  kill(): void {
    if (this.ended || this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  removeRunDir(): void {
    fs.rmSync(this.runDir.dir, { recursive: true, force: true });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended: EngineExit | undefined;
    void this.exited.then((exit) => (ended = exit));
    for (;;) {
      if (ended) throw new EngineStartError(this.describeFailedStart(ended), ended.record?.cause === StopCause.STOP_CAUSE_FAILED);
      if (fs.existsSync(this.runDir.socket) && (await this.ping())) return;
      if (Date.now() > deadline) throw new EngineStartError(`engine did not serve ${this.runDir.socket} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      this.client.getState({}, new Metadata(), { deadline: Date.now() + PING_TIMEOUT_MS }, (err) => resolve(!err));
    });
  }

  private describeFailedStart(exit: EngineExit): string {
    if (exit.record?.status?.message) return exit.record.status.message;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    return `engine exited with ${how} before it was ready: ${tail(this.runDir.stderr)}`;
  }
}

function statusOf(response: { status?: DomainStatus }): DomainStatus {
  if (!response.status) throw unavailable('engine answered without a status');
  return response.status;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guards against pid reuse: the process must be an engine serving this run directory. */
function isEngineOf(pid: number, runDir: RunDir): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(runDir.dir);
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-STDERR_TAIL_BYTES).trim() || '(no output)';
  } catch {
    return '(no output)';
  }
}

/** Where the compiled engine entry point sits relative to the compiled hvd. */
export function defaultEngineMain(): string {
  return path.resolve(__dirname, '../../../engine/src/main.js');
}
