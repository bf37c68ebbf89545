import type { VirtioBalloon } from './virtio-balloon';

/**
 * Asks the guest for fresh memory statistics every period (BalloonDevice.stats_period_seconds), as QEMU's
 * guest-stats-polling-interval does: each tick hands the held stats buffer back, and the driver refills it.
 */
export class BalloonStatsPoller {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly balloon: VirtioBalloon,
    private readonly periodSeconds: number,
  ) {}

  start(): void {
    if (this.timer || this.periodSeconds <= 0) return;
    // A request while the guest still holds the previous one is a no-op (requestStats has no buffer to return).
    this.timer = setInterval(() => void this.balloon.requestStats(), this.periodSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
