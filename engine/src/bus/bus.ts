import { allOnes, isAccessSize, SPLIT_ACCESS_SIZE, TWO_POW_32 } from './access-size';
import { BadAccessLog, formatRange, type BadAccessStats } from './bad-access-log';
import type { BusDevice } from './bus-device';
import { hex, NULL_LOGGER, type WarnLogger } from './warn-logger';

/** One device's place on a bus. */
export interface BusEntry {
  readonly base: number;
  readonly length: number;
  readonly name: string;
  readonly device: BusDevice;
}

/** Stands in the last-hit cache when it is empty; never called because the empty range matches nothing. */
const NO_DEVICE: BusDevice = {
  read: () => 0,
  write: () => undefined,
};

/**
 * An address space (port I/O or MMIO) mapping disjoint ranges to devices, on the vCPU exit hot path.
 *
 * Lookup is a one-entry last-hit cache in front of a binary search over sorted range starts; an access
 * allocates nothing. Accesses no device claims whole (nothing there, or running past a device's end) are
 * guest mistakes: reads return all-ones for their size and writes are dropped, reported rate-limited.
 * An 8-byte access is split into two 4-byte accesses at address and address + 4, low half first.
 */
export class Bus {
  /** Sorted by base; the typed arrays mirror it for a cache-friendly search. */
  private list: BusEntry[] = [];
  private bases = new Float64Array(0);
  /** Exclusive ends (base + length). */
  private ends = new Float64Array(0);

  private hitBase = 0;
  private hitEnd = 0;
  private hitDevice: BusDevice = NO_DEVICE;

  private readonly badAccesses: BadAccessLog;
  /** Reused by `read(address, 8)`, so splitting allocates nothing. */
  private readonly halves = new Uint32Array(2);

  /** `name` ('pio', 'mmio') prefixes log and error messages. */
  constructor(
    readonly name: string,
    logger: WarnLogger = NULL_LOGGER,
  ) {
    this.badAccesses = new BadAccessLog(name, logger);
  }

  /** Maps [base, base + length) to `device`; throws on an empty, out-of-range or overlapping range. */
  insert(base: number, length: number, device: BusDevice, name: string): void {
    if (!Number.isSafeInteger(base) || base < 0) {
      throw new RangeError(`${this.name}: cannot insert "${name}": base ${String(base)} is not a non-negative integer`);
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(
        `${this.name}: cannot insert "${name}" at ${hex(base)}: length ${String(length)} is not a positive integer`,
      );
    }
    if (!Number.isSafeInteger(base + length - 1)) {
      throw new RangeError(`${this.name}: cannot insert "${name}" at ${hex(base)}: range end exceeds 2^53`);
    }
    const before = this.lastStartingAtOrBelow(base);
    const clash =
      before >= 0 && (this.ends[before] as number) > base
        ? before
        : before + 1 < this.list.length && (this.bases[before + 1] as number) < base + length
          ? before + 1
          : -1;
    if (clash >= 0) {
      const other = this.list[clash] as BusEntry;
      throw new Error(
        `${this.name}: cannot insert "${name}" at ${formatRange(base, length)}: ` +
          `overlaps "${other.name}" at ${formatRange(other.base, other.length)}`,
      );
    }
    this.list.splice(before + 1, 0, { base, length, name, device });
    this.rebuild();
  }

  /** Unmaps the device whose range starts at `base` and returns its entry; throws when none does. */
  remove(base: number): BusEntry {
    const index = this.list.findIndex((entry) => entry.base === base);
    if (index < 0) throw new Error(`${this.name}: cannot remove: no device starts at ${hex(base)}`);
    const [removed] = this.list.splice(index, 1);
    this.rebuild();
    return removed as BusEntry;
  }

  /** All mappings in address order (a copy). */
  entries(): BusEntry[] {
    return this.list.slice();
  }

  /** The mapping containing `address`, if any. */
  find(address: number): BusEntry | undefined {
    const index = this.indexOf(address);
    return index < 0 ? undefined : this.list[index];
  }

  /** Guest read of `size` (1, 2, 4 or 8) bytes; 8-byte values above 2^53 lose precision (use read64). */
  read(address: number, size: number): number {
    if ((size === 1 || size === 2 || size === 4) && address >= this.hitBase && address + size <= this.hitEnd) {
      return this.hitDevice.read(address - this.hitBase, size);
    }
    return this.readSlow(address, size);
  }

  /** Guest write of `size` (1, 2, 4 or 8) bytes of `value`. */
  write(address: number, size: number, value: number): void {
    if ((size === 1 || size === 2 || size === 4) && address >= this.hitBase && address + size <= this.hitEnd) {
      this.hitDevice.write(address - this.hitBase, size, value);
      return;
    }
    this.writeSlow(address, size, value);
  }

  /** Exact 8-byte read: out[0] gets the low 32 bits (read first), out[1] the high 32 bits. */
  read64(address: number, out: Uint32Array): void {
    out[0] = this.read(address, 4);
    out[1] = this.read(address + 4, 4);
  }

  /** Exact 8-byte write as two 32-bit halves, low half first. */
  write64(address: number, low: number, high: number): void {
    this.write(address, 4, low >>> 0);
    this.write(address + 4, 4, high >>> 0);
  }

  /** Counts of accesses that reached no device. */
  badAccessStats(): BadAccessStats {
    return this.badAccesses.stats();
  }

  private readSlow(address: number, size: number): number {
    if (size === SPLIT_ACCESS_SIZE) {
      this.read64(address, this.halves);
      return (this.halves[0] as number) + (this.halves[1] as number) * TWO_POW_32;
    }
    if (!isAccessSize(size)) throw this.badSize('read', address, size);
    const index = this.claim(false, address, size, 0);
    if (index < 0) return allOnes(size);
    return this.hitDevice.read(address - this.hitBase, size);
  }

  private writeSlow(address: number, size: number, value: number): void {
    if (size === SPLIT_ACCESS_SIZE) {
      this.write64(address, value >>> 0, Math.floor(value / TWO_POW_32));
      return;
    }
    if (!isAccessSize(size)) throw this.badSize('write', address, size);
    if (this.claim(true, address, size, value) < 0) return;
    this.hitDevice.write(address - this.hitBase, size, value);
  }

  /** Finds the device that takes the whole access and caches it as the last hit; -1 (reported) if none. */
  private claim(write: boolean, address: number, size: number, value: number): number {
    const index = this.indexOf(address);
    if (index < 0) {
      this.badAccesses.report(write, address, size, value);
      return -1;
    }
    const entry = this.list[index] as BusEntry;
    if (address + size > entry.base + entry.length) {
      this.badAccesses.report(write, address, size, value, entry);
      return -1;
    }
    this.hitBase = entry.base;
    this.hitEnd = entry.base + entry.length;
    this.hitDevice = entry.device;
    return index;
  }

  /** Index of the entry containing `address`, or -1. */
  private indexOf(address: number): number {
    const index = this.lastStartingAtOrBelow(address);
    return index >= 0 && address < (this.ends[index] as number) ? index : -1;
  }

  /** Binary search: index of the last entry whose base is <= `address`, or -1. */
  private lastStartingAtOrBelow(address: number): number {
    const bases = this.bases;
    let low = 0;
    let high = bases.length; // answer is in [low - 1, high - 1]
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((bases[mid] as number) <= address) low = mid + 1;
      else high = mid;
    }
    return low - 1;
  }

  private rebuild(): void {
    this.bases = Float64Array.from(this.list, (entry) => entry.base);
    this.ends = Float64Array.from(this.list, (entry) => entry.base + entry.length);
    this.hitBase = 0;
    this.hitEnd = 0;
    this.hitDevice = NO_DEVICE;
  }

  private badSize(access: string, address: number, size: number): RangeError {
    const what = `${String(size)}-byte ${access} at ${hex(address)}`;
    return new RangeError(`${this.name}: unsupported ${what} (accelerator bug)`);
  }
}
