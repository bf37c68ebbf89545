import type { WarnLogger } from '../../bus/warn-logger';
import type { GuestMemoryMap } from '../../memory/guest-memory-map';
import type { VirtqueueLayout } from '../virtio-device';
import { SplitQueue, type SplitQueueOptions } from './split-queue';

export { DescriptorChain, sliceSegments, type BufferSegment } from './descriptor-chain';
export { GUEST_ERRORS_LOGGED, GuestErrorLog } from './guest-error-log';
export {
  ChainError,
  checkLayout,
  DESCRIPTOR_SIZE,
  MAX_CHAIN_BYTES,
  SplitQueue,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  type SplitQueueOptions,
} from './split-queue';

/**
 * The queue a transport hands a device on activation. Never throws for guest input: a layout outside RAM or
 * misaligned gives a queue that is broken from the start (logged) and serves nothing.
 */
export function createSplitQueue(
  memory: GuestMemoryMap,
  layout: VirtqueueLayout,
  logger: WarnLogger,
  options: SplitQueueOptions = {},
): SplitQueue {
  return new SplitQueue(memory, layout, logger, options);
}
