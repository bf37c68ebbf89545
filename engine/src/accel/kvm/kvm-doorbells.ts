/**
 * Doorbells on KVM: an eventfd per address registered as an ioeventfd, so the guest's write completes in the kernel
 * and the vCPU runs on; the eventfd is watched on the loop thread, which calls onRing.
 */
import type { NativeEventFd, NativeVmFd } from '../../native/addon';
import type { Doorbell, Doorbells } from '../doorbells';
import { KVM_IOEVENTFD_FLAG_DEASSIGN } from './kvm-abi';

type IoeventfdVm = Pick<NativeVmFd, 'ioeventfd'>;

export class KvmDoorbells implements Doorbells {
  private readonly live = new Set<Doorbell>();

  constructor(
    private readonly vm: IoeventfdVm,
    private readonly newEventFd: () => NativeEventFd,
  ) {}

  add(gpa: number, size: number, onRing: () => void): Doorbell {
    const bell = this.newEventFd();
    try {
      this.vm.ioeventfd(bell.fd, gpa, size, 0);
    } catch (err) {
      bell.close();
      throw err;
    }
    bell.watch(() => onRing());
    let removed = false;
    const doorbell: Doorbell = {
      remove: () => {
        if (removed) return;
        removed = true;
        this.live.delete(doorbell);
        this.vm.ioeventfd(bell.fd, gpa, size, KVM_IOEVENTFD_FLAG_DEASSIGN);
        bell.close();
      },
    };
    this.live.add(doorbell);
    return doorbell;
  }

  /** Removes every doorbell (the VM is closing). */
  close(): void {
    for (const doorbell of [...this.live]) doorbell.remove();
  }
}
