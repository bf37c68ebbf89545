import type { WarnLogger } from '../bus';

/** Warnings logged one by one before only every power-of-two-th one is (a hostile guest cannot flood the log). */
export const WARNINGS_LOGGED_IN_FULL = 16;

/** A WarnLogger that logs the first WARNINGS_LOGGED_IN_FULL warnings, then only the 32nd, 64th, 128th, ... */
export class RateLimitedLog implements WarnLogger {
  /** Every warning, logged or not. */
  count = 0;

  constructor(private readonly logger: WarnLogger) {}

  warn(obj: object, msg: string): void {
    this.count++;
    if (this.count <= WARNINGS_LOGGED_IN_FULL) this.logger.warn(obj, msg);
    else if ((this.count & (this.count - 1)) === 0) this.logger.warn({ ...obj, warnings: this.count }, `${msg} (${this.count} such warnings so far)`);
  }
}
