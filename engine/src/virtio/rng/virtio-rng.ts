import { randomFillSync } from 'node:crypto';
import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_ID_RNG } from '../constants';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { VirtioActivation, VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';

/*
 * virtio-rng (virtio 1.2 §5.4): one queue, requestq. The driver makes device-writable buffers available; the
 * device fills each with random bytes from the host CSPRNG (node:crypto, getrandom underneath: never blocks once
 * the host pool is initialised) and uses it with the number of bytes written. No config space, no features.
 */

/** Default (and largest offered) size of the request queue. */
export const RNG_QUEUE_SIZE = 64;
/** Most bytes given per request: a guest asking for gigabytes gets this much and asks again. */
export const RNG_MAX_BYTES_PER_REQUEST = 64 * 1024;

export interface VirtioRngOptions {
  logger?: WarnLogger;
  name?: string;
}

export class VirtioRng implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_RNG;
  readonly deviceFeatures = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
  readonly queueMaxSizes: readonly number[] = [RNG_QUEUE_SIZE];
  private readonly errors: GuestErrorLog;
  private active: { queue: VirtqueueHandle; interrupt: VirtioInterrupt } | undefined;
  /** Random bytes handed to the guest, for stats and tests. */
  bytesServed = 0;

  constructor(options: VirtioRngOptions = {}) {
    this.errors = new GuestErrorLog(options.name ?? 'virtio-rng', options.logger ?? NULL_LOGGER);
  }

  readConfig(): number {
    return 0; // no config space
  }

  writeConfig(offset: number, size: number): void {
    this.errors.report(`config write of ${size} bytes at ${offset} ignored (no config space)`);
  }

  activate(context: VirtioActivation): void {
    const queue = context.queues[0];
    this.active = queue ? { queue, interrupt: context.interrupt } : undefined;
    if (!queue) this.errors.report('activated without its request queue');
  }

  notify(queueIndex: number): void {
    const active = this.active;
    if (queueIndex !== 0 || active === undefined) {
      this.errors.report(`notify for queue ${queueIndex} ignored`);
      return;
    }
    try {
      for (let chain = active.queue.pop(); chain !== undefined; chain = active.queue.pop()) {
        const n = Math.min(chain.writableLength, RNG_MAX_BYTES_PER_REQUEST);
        if (n === 0) this.errors.report(`request at head ${chain.head} has no device-writable buffer`);
        const written = chain.writeBytes(0, randomFillSync(new Uint8Array(n)));
        this.bytesServed += written;
        active.queue.pushUsed(chain.head, written);
      }
    } catch (err) {
      this.errors.report(`request processing failed: ${String(err)}`);
    }
    if (active.queue.needsInterrupt()) active.interrupt.signalUsed(0);
  }

  reset(): void {
    this.active = undefined;
  }
}
