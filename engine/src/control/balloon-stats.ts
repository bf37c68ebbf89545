import type { BalloonStats, GuestMemoryStats } from '../../../gen/hypervisor/v1/domain';
import { BALLOON_PAGE_SIZE, type VirtioBalloon } from '../virtio/balloon';

/** The device's view of the balloon and the guest's last statistics, as the contract reports them. */
export function balloonStats(id: string, balloon: VirtioBalloon): BalloonStats {
  return {
    device: id,
    targetBytes: balloon.target * BALLOON_PAGE_SIZE,
    actualBytes: balloon.actual * BALLOON_PAGE_SIZE,
    reclaimedBytes: balloon.inflatedPages * BALLOON_PAGE_SIZE,
    guest: guestMemoryStats(balloon),
  };
}

function guestMemoryStats(balloon: VirtioBalloon): GuestMemoryStats | undefined {
  const time = balloon.statsTime;
  if (!time) return undefined;
  const stats = balloon.stats;
  // Figures above 2^53 cannot be exact as numbers (forceLong=number); no guest has that much memory.
  const at = (name: string): number | undefined => (stats[name] === undefined ? undefined : Number(stats[name]));
  return {
    updateTime: time,
    swapInBytes: at('swap_in'),
    swapOutBytes: at('swap_out'),
    majorFaults: at('major_faults'),
    minorFaults: at('minor_faults'),
    freeBytes: at('free_memory'),
    totalBytes: at('total_memory'),
    availableBytes: at('available_memory'),
    diskCachesBytes: at('disk_caches'),
    hugetlbAllocations: at('hugetlb_allocations'),
    hugetlbFailures: at('hugetlb_failures'),
  };
}
