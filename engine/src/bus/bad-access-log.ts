import { hex, type WarnLogger } from './warn-logger';

/** Individual warnings per address before further accesses there are only summarized. */
export const REPORTS_PER_ADDRESS = 4;
/** Distinct addresses counted separately; beyond this a hostile guest shares one bucket (bounded memory). */
export const MAX_TRACKED_ADDRESSES = 256;
/** Bucket key for accesses at addresses beyond MAX_TRACKED_ADDRESSES (no real address is negative). */
const OTHER_ADDRESSES = -1;

/** The range an access overran, when it started inside a device but ran past its end. */
export interface StraddledRange {
  readonly base: number;
  readonly length: number;
  readonly name: string;
}

/** Totals of accesses that reached no device, for stats and tests. */
export interface BadAccessStats {
  unclaimedReads: number;
  unclaimedWrites: number;
  /** Of the two above, those that started inside a device but ran past the end of its range. */
  straddling: number;
}

/**
 * Reports guest accesses that reached no device, rate-limited so a hostile guest cannot flood the log:
 * the first REPORTS_PER_ADDRESS per address are logged one by one, then one summary line each time the
 * count at that address reaches a power of two (log lines grow with the log of the access count).
 */
export class BadAccessLog {
  private readonly counts = new Map<number, number>();
  private readonly totals: BadAccessStats = { unclaimedReads: 0, unclaimedWrites: 0, straddling: 0 };

  constructor(
    private readonly busName: string,
    private readonly logger: WarnLogger,
  ) {}

  /** Counts (and maybe logs) one access; `value` is the written value (ignored for reads). */
  report(write: boolean, address: number, size: number, value: number, straddled?: StraddledRange): void {
    if (write) this.totals.unclaimedWrites++;
    else this.totals.unclaimedReads++;
    if (straddled !== undefined) this.totals.straddling++;

    const key = this.counts.has(address) || this.counts.size < MAX_TRACKED_ADDRESSES ? address : OTHER_ADDRESSES;
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count <= REPORTS_PER_ADDRESS) this.logOne(write, address, size, value, count, key, straddled);
    else if ((count & (count - 1)) === 0) this.logSummary(key, count);
  }

  stats(): BadAccessStats {
    return { ...this.totals };
  }

  private logOne(
    write: boolean,
    address: number,
    size: number,
    value: number,
    count: number,
    key: number,
    straddled: StraddledRange | undefined,
  ): void {
    const access = write ? 'write' : 'read';
    const where = straddled
      ? `straddles the end of "${straddled.name}" ${formatRange(straddled.base, straddled.length)}`
      : 'is unclaimed';
    const outcome = write ? 'ignored' : 'reads all-ones';
    const quieting = count === REPORTS_PER_ADDRESS ? ` (further ones ${this.bucketName(key)} only summarized)` : '';
    const obj: Record<string, unknown> = { bus: this.busName, access, address: hex(address), size };
    if (write) obj.value = hex(value);
    if (straddled) obj.device = straddled.name;
    this.logger.warn(obj, `${this.busName}: ${size}-byte ${access} at ${hex(address)} ${where}: ${outcome}${quieting}`);
  }

  private logSummary(key: number, count: number): void {
    const address = key === OTHER_ADDRESSES ? 'other' : hex(key);
    this.logger.warn(
      { bus: this.busName, address, count },
      `${this.busName}: ${count} bad accesses ${this.bucketName(key)} so far`,
    );
  }

  private bucketName(key: number): string {
    return key === OTHER_ADDRESSES ? `at untracked addresses (over ${MAX_TRACKED_ADDRESSES})` : `at ${hex(key)}`;
  }
}

/** `[0x3f8-0x3ff]`: a range by its first and last address, as log and error messages show it. */
export function formatRange(base: number, length: number): string {
  return `[${hex(base)}-${hex(base + length - 1)}]`;
}
