/**
 * Figures, not assertions: summary statistics, a plain-text table, and (with BENCH_RESULTS=<file>) one JSON
 * line per row appended to that file so bench/run-all.sh can print every bench's headline rows in one table.
 */
import * as fs from 'node:fs';

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  max: number;
}

/** Nearest-rank percentile of the sorted values (p in 0..100). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, min: sorted[0], median: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted[sorted.length - 1] };
}

export const nsToMs = (ns: bigint) => Number(ns) / 1e6;
export const mib = (bytes: number) => bytes / (1 << 20);

/** A number with a sensible number of significant digits for a table. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toPrecision(digits);
}

/** A plain-text table; `align` has one letter per column, l or r (default: first column left, the rest right). */
export function table(header: string[], rows: string[][], align = 'l' + 'r'.repeat(header.length - 1)): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One headline row for run-all's summary table. */
export interface ResultRow {
  bench: string;
  metric: string;
  unit: string;
  hv: number;
  qemu: number;
  /** How the figure is computed (median of n, ...). */
  note: string;
}

export function recordResults(rows: ResultRow[]): void {
  const file = process.env.BENCH_RESULTS;
  if (!file) return;
  fs.appendFileSync(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}
