import { DomainType } from '../../../gen/hypervisor/v1/domain';

/**
 * libvirt's name for a domain type. libvirt's schemas allow only their own names (qemu, kvm, xen, lxc, …):
 * - KVM → "kvm": hardware-assisted, through /dev/kvm, as libvirt means it.
 * - EMULATED → "qemu": libvirt's name for a guest whose CPU is emulated in software (QEMU's TCG). hv's EMULATED
 *   type is the same idea on another emulator (Unicorn), so "qemu" is the honest match — it does not mean that
 *   QEMU runs the guest.
 * Other values have no libvirt name (undefined).
 */
export function libvirtDomainType(type: DomainType): 'kvm' | 'qemu' | undefined {
  switch (type) {
    case DomainType.DOMAIN_TYPE_KVM:
      return 'kvm';
    case DomainType.DOMAIN_TYPE_EMULATED:
      return 'qemu';
    default:
      return undefined;
  }
}
