/**
 * Builds the linux64 proof guest (test/guests/Makefile target `linux64`) into a directory and returns the bzImage
 * path. make decides what is out of date; each caller passes its own directory, so parallel test files never
 * share a build.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
/** Directory holding the guests' Makefile. */
const GUESTS_DIR = resolve(__dirname, '..');

export async function buildLinux64Guest(outDir: string): Promise<string> {
  try {
    await execFileAsync('make', ['-C', GUESTS_DIR, 'linux64', `O=${outDir}`], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`building the linux64 guest failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
  return join(outDir, 'linux64', 'bzImage');
}
