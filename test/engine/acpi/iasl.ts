/**
 * Test helper: Debian's acpica-tools `iasl`, the independent parser ACPI tables are checked against.
 * `disassemble` dumps each table to its own .dat file (no acpixtract needed) and runs `iasl -d` on it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why iasl cannot be used here, or undefined when it runs. */
export function iaslUnavailable(): string | undefined {
  const probe = spawnSync('iasl', ['-v'], { encoding: 'utf8' });
  if (probe.error) return `iasl not found (${(probe.error as NodeJS.ErrnoException).code}); install Debian's acpica-tools (scripts/setup.sh does)`;
  return undefined;
}

export interface Disassembly {
  /** The .dsl text iasl wrote. */
  dsl: string;
  /** iasl's console output (warnings, errors, summary). */
  log: string;
  status: number | null;
  /** Where the .dat and .dsl files are. */
  datPath: string;
}

/** Writes `bytes` to <dir>/<name>.dat and disassembles it with `iasl -d`. */
export function disassemble(bytes: Uint8Array, name: string, dir = mkdtempSync(join(tmpdir(), 'hv-acpi-'))): Disassembly {
  const datPath = join(dir, `${name}.dat`);
  writeFileSync(datPath, bytes);
  const run = spawnSync('iasl', ['-d', datPath], { cwd: dir, encoding: 'utf8' });
  let dsl = '';
  try {
    dsl = readFileSync(join(dir, `${name}.dsl`), 'utf8');
  } catch {
    // no output: the log says why
  }
  return { dsl, log: `${run.stdout}${run.stderr}`, status: run.status, datPath };
}
