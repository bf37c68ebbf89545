/**
 * Real Debian binaries for tests (the kernel behind linux-image-amd64, busybox-static), fetched with the
 * ordinary apt tools into a cache outside the repository and extracted one file at a time.
 *
 * Steps for a package file:
 *   1. resolve the versioned package (`apt-cache depends linux-image-amd64` names linux-image-<version>-amd64);
 *      when apt knows nothing yet, run `apt-get update` once and ask again;
 *   2. `apt-get download` it into the cache directory (skipped when the .deb is already there);
 *   3. extract only the wanted member: `dpkg-deb --fsys-tarfile <deb> | tar -x <member>`.
 * A directory lock serialises test files that fetch at the same time. Any failure (no apt, no network) comes
 * back as a reason string, so the caller can skip its real-image tests with it.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Preferred cache (survives reboots, shared by checkouts); os.tmpdir() is the fallback when it is not writable. */
const SYSTEM_CACHE_DIR = '/var/cache/hv-test';
/** How long apt commands may take (downloads of ~70 MiB on a slow mirror). */
const APT_TIMEOUT_MS = 300_000;
/** How long to wait for another test file's fetch. */
const LOCK_TIMEOUT_MS = 330_000;
/** Output allowed from the apt tools. */
const MAX_BUFFER = 64 * 1024 * 1024;

/** Either the extracted file or why it could not be had. */
export type Fetched = { path: string; package: string } | { skip: string };

/** The cache directory tests use (created on first use). */
export function testCacheDir(): string {
  for (const dir of [process.env.HV_TEST_CACHE, SYSTEM_CACHE_DIR, path.join(os.tmpdir(), 'hv-test-cache')]) {
    if (!dir) continue;
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
      return dir;
    } catch {
      // Not writable here: try the next one.
    }
  }
  throw new Error('no writable test cache directory');
}

async function run(file: string, args: string[], cwd?: string): Promise<string> {
  const { stdout } = await execFileAsync(file, args, { cwd, timeout: APT_TIMEOUT_MS, maxBuffer: MAX_BUFFER });
  return stdout;
}

/** The package linux-image-amd64 depends on (linux-image-<abi>-amd64), or undefined when apt does not know. */
async function resolveKernelPackage(): Promise<string | undefined> {
  const text = await run('apt-cache', ['depends', 'linux-image-amd64']).catch(() => '');
  return /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b/.exec(text)?.[1];
}

async function withLock<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, '.lock');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(fs.readFileSync(path.join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }), 10);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) fs.rmSync(lock, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Downloads pkg's .deb into dir (unless present) and returns its path. */
async function download(dir: string, pkg: string): Promise<string> {
  const find = () => fs.readdirSync(dir).find((name) => name.startsWith(`${pkg}_`) && name.endsWith('.deb'));
  const existing = find();
  if (existing) return path.join(dir, existing);
  await run('apt-get', ['download', pkg], dir);
  const fetched = find();
  if (!fetched) throw new Error(`apt-get download ${pkg} left no .deb in ${dir}`);
  return path.join(dir, fetched);
}

/** Extracts the tar members matching prefix (e.g. ./boot/vmlinuz-) from a .deb into outDir; returns their paths. */
async function extract(deb: string, outDir: string, members: string[]): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  await execFileAsync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "$3"', 'sh', deb, outDir, ...members], {
    timeout: APT_TIMEOUT_MS,
    maxBuffer: MAX_BUFFER,
  });
}

function reason(error: unknown): string {
  const failure = error as { stderr?: string; message?: string };
  return (failure.stderr || failure.message || String(error)).trim().split('\n').slice(-3).join(' ');
}

/** Debian's current amd64 kernel (./boot/vmlinuz-*), or why it cannot be had here. */
export async function fetchDebianVmlinuz(): Promise<Fetched> {
  try {
    const dir = testCacheDir();
    return await withLock(dir, async () => {
      let pkg = await resolveKernelPackage();
      if (!pkg) {
        await run('apt-get', ['update']).catch(() => '');
        pkg = await resolveKernelPackage();
      }
      if (!pkg) return { skip: 'apt-cache cannot resolve linux-image-amd64 (no apt, or no package lists)' };
      const outDir = path.join(dir, pkg);
      const found = () => {
        const boot = path.join(outDir, 'boot');
        const name = fs.existsSync(boot) ? fs.readdirSync(boot).find((n) => n.startsWith('vmlinuz-')) : undefined;
        return name ? path.join(boot, name) : undefined;
      };
      if (!found()) await extract(await download(dir, pkg), outDir, ['./boot/vmlinuz-*']);
      const vmlinuz = found();
      return vmlinuz ? { path: vmlinuz, package: pkg } : { skip: `${pkg} holds no ./boot/vmlinuz-*` };
    });
  } catch (error) {
    return { skip: `cannot fetch Debian's kernel: ${reason(error)}` };
  }
}

/** Debian's busybox-static binary (./bin/busybox), or why it cannot be had here. */
export async function fetchBusyboxStatic(): Promise<Fetched> {
  const pkg = 'busybox-static';
  try {
    const dir = testCacheDir();
    return await withLock(dir, async () => {
      const binary = path.join(dir, pkg, 'bin', 'busybox');
      if (!fs.existsSync(binary)) {
        let deb;
        try {
          deb = await download(dir, pkg);
        } catch {
          await run('apt-get', ['update']).catch(() => '');
          deb = await download(dir, pkg);
        }
        await extract(deb, path.join(dir, pkg), ['./bin/busybox']);
      }
      return fs.existsSync(binary) ? { path: binary, package: pkg } : { skip: `${pkg} holds no ./bin/busybox` };
    });
  } catch (error) {
    return { skip: `cannot fetch ${pkg}: ${reason(error)}` };
  }
}
