/**
 * Facts read by tools other than the code under test (util-linux, procps, coreutils, the shell, a gcc-built CPUID
 * program), for tests to compare the host probe against.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a tool in the C locale and returns its stdout. */
export function run(command: string, args: string[] = []): string {
  return execFileSync(command, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
}

/** A shell command's stdout, trimmed. */
export function sh(script: string): string {
  return run('sh', ['-c', script]).trim();
}

interface LscpuEntry {
  field: string;
  data: string | null;
  children?: LscpuEntry[];
}

/** `lscpu -J` as a map from field (without its colon) to data; newer util-linux nests entries in children. */
export function lscpu(): Map<string, string> {
  const fields = new Map<string, string>();
  const visit = (entries: LscpuEntry[]): void => {
    for (const entry of entries) {
      fields.set(entry.field.replace(/:$/, ''), entry.data ?? '');
      if (entry.children) visit(entry.children);
    }
  };
  visit((JSON.parse(run('lscpu', ['-J'])) as { lscpu: LscpuEntry[] }).lscpu);
  return fields;
}

/** One lscpu field, failing the test when lscpu does not print it. */
export function lscpuField(name: string): string {
  const value = lscpu().get(name);
  if (value === undefined) throw new Error(`lscpu prints no "${name}"`);
  return value;
}

/** `lscpu -p=<columns> --online`: one row per online CPU, comment lines dropped. */
export function lscpuParse(columns: string): string[][] {
  return run('lscpu', [`-p=${columns}`, '--online'])
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(','));
}

/** `free -b`: the "Mem:" total column (procps). */
export function freeTotalBytes(): number {
  const line = run('free', ['-b'])
    .split('\n')
    .find((l) => l.startsWith('Mem:'));
  if (!line) throw new Error('free -b printed no Mem: line');
  return Number(line.split(/\s+/)[1]);
}

/** CPUID read in user mode by a C program using GCC's <cpuid.h> (what the addon should agree with). */
export interface UserCpuid {
  /** Leaf 0 vendor string. */
  vendor: string;
  /** Leaves 0x80000002..4 up to the first NUL, untrimmed; "" when the extended leaves stop earlier. */
  brand: string;
  /** Leaf 1 EAX. */
  signature: number;
}

const CPUID_PROGRAM = String.raw`
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  unsigned a, b, c, d, r[12], max_ext;
  char vendor[13] = {0}, brand[49] = {0};
  __cpuid(0, a, b, c, d);
  memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4);
  __cpuid(0x80000000, max_ext, b, c, d);
  if (max_ext >= 0x80000004) {
    for (int i = 0; i < 3; i++) __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
    memcpy(brand, r, 48);
  }
  __cpuid(1, a, b, c, d);
  printf("%s\n%s\n%u\n", vendor, brand, a);
  return 0;
}
`;

/** Compiles and runs CPUID_PROGRAM with gcc (on every machine here; DESIGN.md). */
export function userCpuid(): UserCpuid {
  const dir = mkdtempSync(join(tmpdir(), 'hv-cpuid-'));
  try {
    writeFileSync(join(dir, 'cpuid.c'), CPUID_PROGRAM);
    run('gcc', ['-O1', '-o', join(dir, 'cpuid'), join(dir, 'cpuid.c')]);
    const [vendor = '', brand = '', signature = ''] = run(join(dir, 'cpuid')).split('\n');
    return { vendor, brand, signature: Number(signature) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Reads `independent()`, then `read()`, then `independent()` again, so a test can accept either neighbour: for live
 * values that may change between two reads (memory hotplug, balloons; a node's MemTotal moves on its own on some hosts).
 */
export function bracketed<T>(read: () => T, independent: () => T): { value: T; around: [T, T] } {
  const before = independent();
  const value = read();
  const after = independent();
  return { value, around: [before, after] };
}
