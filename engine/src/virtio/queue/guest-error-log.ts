import type { WarnLogger } from '../../bus/warn-logger';

/** Guest errors logged one by one before only summaries follow (a hostile guest must not flood the log). */
export const GUEST_ERRORS_LOGGED = 8;

/**
 * Logs guest mistakes of one virtio queue or device, rate-limited: the first GUEST_ERRORS_LOGGED one by one,
 * then one summary line each time the count reaches a power of two. Counts them for stats and tests.
 */
export class GuestErrorLog {
  private total = 0;

  constructor(
    private readonly source: string,
    private readonly logger: WarnLogger,
  ) {}

  get count(): number {
    return this.total;
  }

  report(message: string, detail: object = {}): void {
    const n = ++this.total;
    if (n <= GUEST_ERRORS_LOGGED) {
      const quieting = n === GUEST_ERRORS_LOGGED ? ' (further ones only summarized)' : '';
      this.logger.warn({ source: this.source, ...detail }, `${this.source}: ${message}${quieting}`);
    } else if ((n & (n - 1)) === 0) {
      this.logger.warn({ source: this.source, count: n }, `${this.source}: ${n} guest errors so far; latest: ${message}`);
    }
  }
}
