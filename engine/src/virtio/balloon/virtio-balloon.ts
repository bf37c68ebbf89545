import type { WarnLogger } from '../../bus/warn-logger';
import { NULL_LOGGER } from '../../bus/warn-logger';
import type { GuestMemoryMap } from '../../memory/guest-memory-map';
import { readConfigBytes } from '../config-bytes';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_ID_BALLOON } from '../constants';
import type { DescriptorChain } from '../queue/descriptor-chain';
import { GuestErrorLog } from '../queue/guest-error-log';
import type { VirtioActivation, VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';

/*
 * Traditional memory balloon (virtio 1.2 §5.5). The host sets num_pages (the balloon size it wants, in 4 KiB
 * pages) and signals a config change; the driver gives pages to the balloon by sending their page frame numbers
 * (le32 each) on inflateq, takes them back on deflateq, and writes the balloon size it reached into `actual`.
 * With VIRTIO_BALLOON_F_STATS_VQ the driver posts one buffer of {le16 tag, le64 value} records on statsq at
 * start; the device keeps it, and uses it when the host wants fresh figures, so the driver refills and resends.
 * Every frame number is checked to name a page inside guest RAM; others are logged and ignored. Inflated pages are
 * returned to the host at once (GuestMemoryMap.discard: madvise MADV_DONTNEED, contiguous frames in one call), so
 * they leave the engine's RSS; a deflated page is ordinary RAM again, reading as zero until the guest writes it.
 * The stats queue and DEFLATE_ON_OOM are offered only when the domain's BalloonDevice asks for them.
 */

/** Feature: the driver must tell the host before it uses deflated pages (not offered: nothing to wait for). */
export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 1n << 0n;
/** Feature: the statistics queue exists. */
export const VIRTIO_BALLOON_F_STATS_VQ = 1n << 1n;
/** Feature: the guest may deflate when it runs out of memory. */
export const VIRTIO_BALLOON_F_DEFLATE_ON_OOM = 1n << 2n;
/** Config offset of num_pages (le32, set by the device). */
export const BALLOON_CONFIG_NUM_PAGES = 0;
/** Config offset of actual (le32, written by the driver). */
export const BALLOON_CONFIG_ACTUAL = 4;
/** Bytes of config space (free_page_hint_cmd_id and poison_val are not offered). */
export const BALLOON_CONFIG_SIZE = 8;
/** Balloon page size: frame numbers count these, whatever the guest's page size. */
export const BALLOON_PAGE_SIZE = 4096;
/** Queue indices. */
export const BALLOON_INFLATEQ = 0;
export const BALLOON_DEFLATEQ = 1;
export const BALLOON_STATSQ = 2;
/** Queue size of each queue. */
export const BALLOON_QUEUE_SIZE = 128;
/** Bytes per statistics record: le16 tag, le64 value, packed. */
export const BALLOON_STAT_SIZE = 10;
/** Most statistics records read from one buffer (the spec defines tags 0-9; this leaves room for new ones). */
export const BALLOON_MAX_STATS = 32;
/** Most frame numbers taken from one chain (Linux sends 256): a chain naming more has the rest ignored, logged. */
export const BALLOON_MAX_FRAMES_PER_CHAIN = 1 << 16;
/** Frame numbers read from guest memory at a time. */
const FRAMES_PER_READ = 1024;

/** Statistics tags (§5.5.6.3). */
export const BALLOON_STAT_NAMES: Record<number, string> = {
  0: 'swap_in',
  1: 'swap_out',
  2: 'major_faults',
  3: 'minor_faults',
  4: 'free_memory',
  5: 'total_memory',
  6: 'available_memory',
  7: 'disk_caches',
  8: 'hugetlb_allocations',
  9: 'hugetlb_failures',
};

export interface VirtioBalloonOptions {
  /** Offer VIRTIO_BALLOON_F_DEFLATE_ON_OOM (BalloonDevice.deflate_on_oom). */
  deflateOnOom?: boolean;
  /** Offer VIRTIO_BALLOON_F_STATS_VQ and the third queue (BalloonDevice.stats_period_seconds > 0). */
  statsQueue?: boolean;
  logger?: WarnLogger;
  name?: string;
  /** Called when the driver updates `actual`. */
  onActualChanged?: (pages: number) => void;
}

interface Active {
  memory: GuestMemoryMap;
  queues: readonly (VirtqueueHandle | undefined)[];
  interrupt: VirtioInterrupt;
}

export class VirtioBalloon implements VirtioDevice {
  readonly deviceType = VIRTIO_ID_BALLOON;
  readonly deviceFeatures: bigint;
  readonly queueMaxSizes: readonly number[];
  private readonly config = new Uint8Array(BALLOON_CONFIG_SIZE);
  private readonly view = new DataView(this.config.buffer);
  private readonly errors: GuestErrorLog;
  private active: Active | undefined;
  /** Frame numbers of the pages in the balloon. */
  private readonly pages = new Set<number>();
  private statsChain: DescriptorChain | undefined;
  private statsWaiters: ((stats: Record<string, bigint>) => void)[] = [];
  private lastStats: Record<string, bigint> = {};
  /** When the last statistics buffer arrived. */
  private lastStatsTime: Date | undefined;

  constructor(private readonly options: VirtioBalloonOptions = {}) {
    this.errors = new GuestErrorLog(options.name ?? 'virtio-balloon', options.logger ?? NULL_LOGGER);
    this.deviceFeatures =
      VIRTIO_F_VERSION_1 |
      VIRTIO_F_INDIRECT_DESC |
      (options.statsQueue ? VIRTIO_BALLOON_F_STATS_VQ : 0n) |
      (options.deflateOnOom ? VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0n);
    const queues = options.statsQueue ? 3 : 2;
    this.queueMaxSizes = new Array<number>(queues).fill(BALLOON_QUEUE_SIZE);
  }

  /** Asks the guest for a balloon of this many 4 KiB pages (a config change interrupt). */
  setTarget(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffff_ffff) throw new RangeError(`balloon target ${pages} pages`);
    this.view.setUint32(BALLOON_CONFIG_NUM_PAGES, pages, true);
    this.active?.interrupt.signalConfig();
  }

  get target(): number {
    return this.view.getUint32(BALLOON_CONFIG_NUM_PAGES, true);
  }

  /** The balloon size the driver reports (config `actual`). */
  get actual(): number {
    return this.view.getUint32(BALLOON_CONFIG_ACTUAL, true);
  }

  /** Pages the driver has put in the balloon (and not taken back), as counted from the queues. */
  get inflatedPages(): number {
    return this.pages.size;
  }

  /** The figures of the last statistics buffer, by name (unknown tags as tag_<n>). */
  get stats(): Record<string, bigint> {
    return { ...this.lastStats };
  }

  /** When the last statistics buffer arrived (undefined: never). */
  get statsTime(): Date | undefined {
    return this.lastStatsTime;
  }

  /** Guest memory errors (bad frames, malformed lists) so far, for tests and stats. */
  get guestErrors(): number {
    return this.errors.count;
  }

  /** Asks the driver for fresh statistics; resolves when they arrive (or undefined when there is no stats buffer). */
  requestStats(): Promise<Record<string, bigint>> | undefined {
    const active = this.active;
    const chain = this.statsChain;
    if (!active || !chain) return undefined;
    const queue = active.queues[BALLOON_STATSQ];
    if (!queue) return undefined;
    this.statsChain = undefined;
    const fresh = new Promise<Record<string, bigint>>((resolve) => this.statsWaiters.push(resolve));
    queue.pushUsed(chain.head, 0);
    if (queue.needsInterrupt()) active.interrupt.signalUsed(BALLOON_STATSQ);
    return fresh;
  }

  readConfig(offset: number, size: number): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(offset: number, size: number, value: number): void {
    if (offset === BALLOON_CONFIG_ACTUAL && size === 4) {
      this.view.setUint32(BALLOON_CONFIG_ACTUAL, value >>> 0, true);
      this.options.onActualChanged?.(value >>> 0);
      return;
    }
    this.errors.report(`config write of ${size} bytes at ${offset} ignored (only actual, 4 bytes, is writable)`, { offset, size });
  }

  activate(context: VirtioActivation): void {
    this.active = { memory: context.memory, queues: context.queues, interrupt: context.interrupt };
  }

  notify(queueIndex: number): void {
    const active = this.active;
    const queue = active?.queues[queueIndex];
    if (!active || !queue) {
      this.errors.report(`notify for queue ${queueIndex} ignored (no such queue)`);
      return;
    }
    try {
      if (queueIndex === BALLOON_STATSQ) this.takeStats(queue);
      else this.movePages(active.memory, queue, queueIndex === BALLOON_INFLATEQ);
    } catch (err) {
      this.errors.report(`queue ${queueIndex} processing failed: ${String(err)}`);
    }
    if (queue.needsInterrupt()) active.interrupt.signalUsed(queueIndex);
  }

  reset(): void {
    // A reset guest gets all its memory back: the balloon empties with it.
    this.active = undefined;
    this.statsChain = undefined;
    this.pages.clear();
    this.view.setUint32(BALLOON_CONFIG_ACTUAL, 0, true);
  }

  private movePages(memory: GuestMemoryMap, queue: VirtqueueHandle, inflate: boolean): void {
    for (let chain = queue.pop(); chain !== undefined; chain = queue.pop()) {
      let count = Math.floor(chain.readableLength / 4);
      if (chain.readableLength % 4 !== 0) this.errors.report(`page list at head ${chain.head} is not whole le32 frame numbers`);
      if (count > BALLOON_MAX_FRAMES_PER_CHAIN) {
        this.errors.report(`page list at head ${chain.head} names ${count} frames; only the first ${BALLOON_MAX_FRAMES_PER_CHAIN} are taken`);
        count = BALLOON_MAX_FRAMES_PER_CHAIN;
      }
      const discards = new PageRuns((first, pages) => this.discard(memory, first, pages));
      for (let first = 0; first < count; first += FRAMES_PER_READ) {
        const bytes = chain.readBytes(first * 4, Math.min(FRAMES_PER_READ, count - first) * 4);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < bytes.length; i += 4) {
          const pfn = view.getUint32(i, true);
          if (!memory.contains(pfn * BALLOON_PAGE_SIZE, BALLOON_PAGE_SIZE)) {
            this.errors.report(`frame ${pfn} is not a page of guest RAM`, { pfn });
          } else if (!inflate) {
            this.pages.delete(pfn);
          } else if (!this.pages.has(pfn)) {
            this.pages.add(pfn);
            discards.add(pfn);
          }
        }
      }
      discards.end();
      queue.pushUsed(chain.head, 0);
    }
  }

  /** Returns inflated frames to the host; a run straddling two RAM regions is split page by page. */
  private discard(memory: GuestMemoryMap, first: number, pages: number): void {
    const gpa = first * BALLOON_PAGE_SIZE;
    if (memory.contains(gpa, pages * BALLOON_PAGE_SIZE)) return memory.discard(gpa, pages * BALLOON_PAGE_SIZE);
    for (let i = 0; i < pages; i++) memory.discard(gpa + i * BALLOON_PAGE_SIZE, BALLOON_PAGE_SIZE);
  }

  private takeStats(queue: VirtqueueHandle): void {
    for (let chain = queue.pop(); chain !== undefined; chain = queue.pop()) {
      if (this.statsChain !== undefined) {
        // A second buffer while we hold one: give the older back, keep the newest.
        queue.pushUsed(this.statsChain.head, 0);
        this.errors.report('a second statistics buffer while one was held');
      }
      const n = Math.min(Math.floor(chain.readableLength / BALLOON_STAT_SIZE), BALLOON_MAX_STATS);
      const bytes = chain.readBytes(0, n * BALLOON_STAT_SIZE);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const stats: Record<string, bigint> = {};
      for (let i = 0; i < n; i++) {
        const tag = view.getUint16(i * BALLOON_STAT_SIZE, true);
        stats[BALLOON_STAT_NAMES[tag] ?? `tag_${tag}`] = view.getBigUint64(i * BALLOON_STAT_SIZE + 2, true);
      }
      this.lastStats = stats;
      this.lastStatsTime = new Date();
      this.statsChain = chain;
      for (const resolve of this.statsWaiters.splice(0)) resolve(stats);
    }
  }
}

/** Collects ascending runs of consecutive frame numbers, handing each finished run on (one madvise per run). */
class PageRuns {
  private first = -1;
  private pages = 0;

  constructor(private readonly flush: (first: number, pages: number) => void) {}

  add(pfn: number): void {
    if (this.pages > 0 && pfn === this.first + this.pages) {
      this.pages++;
      return;
    }
    this.end();
    this.first = pfn;
    this.pages = 1;
  }

  end(): void {
    if (this.pages > 0) this.flush(this.first, this.pages);
    this.pages = 0;
  }
}
