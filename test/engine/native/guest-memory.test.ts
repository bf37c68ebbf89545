/**
 * GuestMemory: one mmap with PROT_NONE guard regions, shared with JS as an external ArrayBuffer, unmapped when neither the
 * object, its buffer nor a CPU mapping it is left.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { EmulatedAccelerator } from '../../../engine/src/accel';
import { createGuestMemory, isGuestMemory, native, PAGE_SIZE } from '../../../engine/src/native';
import { guardProblem, ramMappingsOf, readMaps } from '../../support/proc-maps';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MIB = 1024 * 1024;
const MANY = 2000;
const FINALIZER_ROUNDS = 20;

/** Runs GC and lets finalizers (which run after GC, between ticks) happen. */
async function collect(): Promise<void> {
  for (let i = 0; i < FINALIZER_ROUNDS; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function mappingCount(): number {
  return readFileSync('/proc/self/maps', 'utf8').split('\n').length;
}

describe('GuestMemory', () => {
  it('exposes exactly the requested bytes, zeroed, as one stable ArrayBuffer', () => {
    const memory = createGuestMemory(4 * PAGE_SIZE);
    expect(memory.byteLength).toBe(4 * PAGE_SIZE);
    expect(memory.buffer.byteLength).toBe(4 * PAGE_SIZE);
    expect(memory.buffer).toBe(memory.buffer);
    const bytes = new Uint8Array(memory.buffer);
    expect(bytes.every((b) => b === 0)).toBe(true);
    bytes[0] = 1;
    bytes[bytes.length - 1] = 2;
    expect(new Uint8Array(memory.buffer)[bytes.length - 1]).toBe(2);
    expect(isGuestMemory(memory)).toBe(true);
    expect(isGuestMemory({ buffer: new ArrayBuffer(8), byteLength: 8 })).toBe(false);
  });

  it('reserves large sizes lazily (MAP_NORESERVE)', () => {
    const memory = createGuestMemory(1024 * MIB);
    expect(memory.buffer.byteLength).toBe(1024 * MIB);
    new Uint8Array(memory.buffer)[512 * MIB] = 7;
  });

  it.each([0, -PAGE_SIZE, PAGE_SIZE - 1, PAGE_SIZE + 1, 1.5 * PAGE_SIZE, Number.NaN, 2 ** 60])(
    'rejects size %s',
    (size) => {
      expect(() => createGuestMemory(size)).toThrow(RangeError);
    },
  );

  it('native constructor also refuses a bad size instead of mapping it', () => {
    expect(() => new native.GuestMemory(123)).toThrow(/multiple of 4096/);
  });

  it('unmaps dropped memories once collected', async () => {
    await collect();
    const before = mappingCount();
    for (let i = 0; i < MANY; i++) new Uint8Array(createGuestMemory(MIB).buffer)[i] = 1;
    await collect();
    // Adjacent anonymous mappings may merge, so only a leak of MANY mappings would show.
    expect(mappingCount() - before).toBeLessThan(MANY / 4);
  });

  it('keeps the pages alive while only the ArrayBuffer is referenced', async () => {
    let memory: ReturnType<typeof createGuestMemory> | undefined = createGuestMemory(PAGE_SIZE);
    const buffer = memory.buffer;
    new Uint8Array(buffer)[10] = 42;
    memory = undefined;
    await collect();
    expect(new Uint8Array(buffer)[10]).toBe(42);
    new Uint8Array(buffer)[PAGE_SIZE - 1] = 1;
  });

  it('keeps the pages alive while a CPU maps them', async () => {
    const outs: number[] = [];
    const accelerator = new EmulatedAccelerator({
      handleExit: (exit) => (exit.kind === 'io-out' ? void outs.push(exit.data) : undefined),
    });
    (() => {
      const memory = createGuestMemory(PAGE_SIZE);
      new Uint8Array(memory.buffer).set([0xb0, 0x2a, 0xe6, 0x80, 0xf4]); // mov $42, %al; out %al, $0x80; hlt
      accelerator.mapRam(0, memory);
    })();
    await collect();
    accelerator.setRegs({ rip: 0 });
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([42]);
    accelerator.close();
  });
});

describe('GuestMemory guard regions', () => {
  it('surrounds RAM with PROT_NONE of at least 2 MiB on each side and starts it on a 2 MiB boundary (/proc/self/maps)', () => {
    const bytes = 37 * PAGE_SIZE;
    const existing = new Set(ramMappingsOf(readMaps('self'), bytes).map((m) => m.ram.start));
    const memories = [createGuestMemory(bytes), createGuestMemory(bytes)]; // two: guards keep them apart too
    const found = ramMappingsOf(readMaps('self'), bytes).filter((m) => !existing.has(m.ram.start));
    expect(found).toHaveLength(memories.length);
    for (const mapping of found) expect(guardProblem(mapping)).toBeUndefined();
  });
});
