import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { buildGuests } from './build';

describe('buildGuests', () => {
  it('builds into another directory the same images as the global set-up, and skips when up to date', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hv-guests-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const [first, concurrent] = await Promise.all([buildGuests(dir), buildGuests(dir)]);
    expect(concurrent).toEqual(first);
    expect(first).toMatchObject({ dir, pvh: join(dir, 'guest.elf'), raw: join(dir, 'guest.bin'), rawLoad: 0x100000 });
    const shared = inject('guests');
    expect(readFileSync(first.pvh)).toEqual(readFileSync(shared.pvh));
    expect(readFileSync(first.raw)).toEqual(readFileSync(shared.raw));
    expect(first.rawEntry).toBe(shared.rawEntry);

    const built = statSync(first.pvh).mtimeMs;
    const started = performance.now();
    expect(await buildGuests(dir)).toEqual(first);
    expect(performance.now() - started).toBeLessThan(500);
    expect(statSync(first.pvh).mtimeMs).toBe(built);
  });
});
