/**
 * Builds the test guest (test/guests/Makefile is the one source of truth) and returns where its images are.
 *
 * Steps:
 *   1. hash the guest sources (Makefile, linker script, src/*) and compare with the stamp in the output directory;
 *      when it matches and every output exists, return the manifest without spawning anything;
 *   2. otherwise take a directory lock (several vitest runs may share one checkout), check the stamp again,
 *      run `make -B -C test/guests O=<outDir>` (execFile, no shell), write the stamp, release the lock;
 *   3. read and validate guest.json, return absolute paths.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Directory holding the Makefile, linker script and src/. */
export const GUESTS_DIR = resolve(__dirname);
/** Default output directory (git-ignored). */
export const DEFAULT_OUT_DIR = join(GUESTS_DIR, 'build');
/** Manifest the Makefile writes next to the images. */
const MANIFEST_NAME = 'guest.json';
/** Hash of the sources the outputs were built from. */
const STAMP_NAME = '.sources.sha256';
/** Lock directory inside the output directory, held while make runs. */
const LOCK_NAME = '.lock';
/** A lock directory without a pid file older than this was left by a process that died while taking it. */
const LOCK_PID_GRACE_MS = 10_000;
/** How long to wait for another process's build before giving up. */
const LOCK_TIMEOUT_MS = 120_000;
/** Poll interval while another process holds the lock. */
const LOCK_POLL_MS = 50;

/** The built test guest: absolute paths and the raw image's load address and entry. */
export interface GuestBuild {
  /** 32-bit ELF with a PVH (XEN_ELFNOTE_PHYS32_ENTRY) note, linked at 1 MiB. */
  pvh: string;
  /** The same program as a flat binary (objcopy -O binary). */
  raw: string;
  /** Guest physical address the raw image must be loaded at. */
  rawLoad: number;
  /** Guest physical address of the raw image's 32-bit entry. */
  rawEntry: number;
  /** Output directory holding the images and guest.json. */
  dir: string;
}

/** Builds the guest into outDir (default test/guests/build) unless it is up to date. */
export async function buildGuests(outDir: string = DEFAULT_OUT_DIR): Promise<GuestBuild> {
  const dir = resolve(outDir);
  const hash = hashSources();
  if (!isUpToDate(dir, hash)) {
    mkdirSync(dir, { recursive: true });
    const release = await acquireLock(join(dir, LOCK_NAME));
    try {
      if (!isUpToDate(dir, hash)) {
        await runMake(dir);
        writeFileSync(join(dir, STAMP_NAME), `${hash}\n`);
      }
    } finally {
      release();
    }
  }
  return readManifest(dir);
}

/** Reads and validates guest.json in dir. */
export function readManifest(dir: string): GuestBuild {
  const manifestPath = join(dir, MANIFEST_NAME);
  const parsed: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${manifestPath}: not a JSON object`);
  const record = parsed as Record<string, unknown>;
  const text = (key: string): string => {
    const value = record[key];
    if (typeof value !== 'string' || value === '') throw new Error(`${manifestPath}: "${key}" must be a file name`);
    return join(dir, value);
  };
  const address = (key: string): number => {
    const value = record[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${manifestPath}: "${key}" must be a non-negative integer`);
    }
    return value;
  };
  return { pvh: text('pvh'), raw: text('raw'), rawLoad: address('rawLoad'), rawEntry: address('rawEntry'), dir };
}

function sourceFiles(): string[] {
  const sources = readdirSync(join(GUESTS_DIR, 'src'))
    .sort()
    .map((name) => join('src', name));
  return ['Makefile', 'guest.ld', ...sources];
}

function hashSources(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(file).update('\0').update(readFileSync(join(GUESTS_DIR, file))).update('\0');
  }
  return hash.digest('hex');
}

function isUpToDate(dir: string, hash: string): boolean {
  const stampPath = join(dir, STAMP_NAME);
  if (!existsSync(stampPath) || readFileSync(stampPath, 'utf8').trim() !== hash) return false;
  try {
    const manifest = readManifest(dir);
    return existsSync(manifest.pvh) && existsSync(manifest.raw);
  } catch {
    return false;
  }
}

async function runMake(dir: string): Promise<void> {
  try {
    await execFileAsync('make', ['-B', '-C', GUESTS_DIR, `O=${dir}`], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (failure.code === 'ENOENT') throw new Error('building the test guest needs make, gcc (-m32) and binutils on PATH');
    throw new Error(`building the test guest failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
}

/** mkdir-based lock: atomic on every filesystem; a lock left by a dead process is taken over. */
async function acquireLock(lockDir: string): Promise<() => void> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), `${process.pid}\n`);
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (lockHolderIsGone(lockDir)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the guest build lock ${lockDir}`);
    await new Promise((done) => setTimeout(done, LOCK_POLL_MS));
  }
}

function lockHolderIsGone(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(lockDir, 'pid'), 'utf8'), 10);
  } catch {
    // Just created and the pid not written yet, or its creator died in between.
    try {
      return Date.now() - statSync(lockDir).mtimeMs > LOCK_PID_GRACE_MS;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
