import { DomainType } from '../../../gen/hypervisor/v1/domain';
import type { HostFacts } from '../host';

/** What one domain type can have on this host. */
export interface DomainTypeLimits {
  available: boolean;
  /** Why the type cannot run here ("" when it can). */
  unavailableReason: string;
  /** Most vCPUs one domain may have; 0 when the type is unavailable and the bound is unknown. */
  maxVcpus: number;
  /** Most guest RAM one domain may have, in bytes (a multiple of the 4 KiB guest page). */
  maxMemoryBytes: number;
}

/** Guest RAM is given in whole 4 KiB pages (MemorySpec.current_bytes must be a multiple of it). */
const GUEST_PAGE_BYTES = 4096;
/** One vCPU per EMULATED domain until SMP gets its own issue (DESIGN.md, the engine). */
const EMULATED_MAX_VCPUS = 1;
/** KVM's bound when the kernel answers neither KVM_CAP_MAX_VCPUS nor KVM_CAP_NR_VCPUS (api.rst: "assume ... 4"). */
const KVM_DEFAULT_MAX_VCPUS = 4;

/**
 * The limits of a domain type on a host; the DomainService rejects a spec that can never fit them.
 *
 * - EMULATED: always available; 1 vCPU; memory up to the host's MemTotal.
 * - KVM: available only when /dev/kvm opened. maxVcpus = KVM_CAP_MAX_VCPUS, not capped by the host's online CPUs:
 *   overcommitting vCPUs is legal (libvirt's domain capabilities report the same bound, from KVM_CAP_MAX_VCPUS, and
 *   it accepts more vCPUs than host CPUs). When the kernel does not answer KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS is
 *   the bound (linux Documentation/virt/kvm/api.rst: "If the KVM_CAP_MAX_VCPUS does not exist, you should assume
 *   that max_vcpus is the same as the value returned from KVM_CAP_NR_VCPUS"), and without that either, 4.
 *   When KVM is unavailable maxVcpus is 0.
 * - memory for both: the host's MemTotal rounded down to a whole guest page (one domain cannot have more RAM than
 *   the host; overcommitting across domains is a scheduling matter, not a spec error).
 * - UNSPECIFIED or unknown types: unavailable with a reason; nothing fits.
 */
export function domainTypeLimits(host: HostFacts, type: DomainType): DomainTypeLimits {
  const maxMemoryBytes = Math.floor(host.memoryBytes / GUEST_PAGE_BYTES) * GUEST_PAGE_BYTES;
  switch (type) {
    case DomainType.DOMAIN_TYPE_EMULATED:
      return { available: true, unavailableReason: '', maxVcpus: EMULATED_MAX_VCPUS, maxMemoryBytes };
    case DomainType.DOMAIN_TYPE_KVM: {
      const { kvm } = host;
      if (!kvm.available) return { available: false, unavailableReason: kvm.unavailableReason, maxVcpus: 0, maxMemoryBytes };
      const maxVcpus = kvm.maxVcpus || kvm.recommendedVcpus || KVM_DEFAULT_MAX_VCPUS;
      return { available: true, unavailableReason: '', maxVcpus, maxMemoryBytes };
    }
    default:
      return { available: false, unavailableReason: `unknown domain type ${String(type)}`, maxVcpus: 0, maxMemoryBytes: 0 };
  }
}
