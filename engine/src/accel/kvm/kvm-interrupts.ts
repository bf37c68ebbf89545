import type { WarnLogger } from '../../bus';
import { sharedLines, type Interrupts } from '../../irq/interrupts';
import type { IrqLine } from '../../irq/irq-line';
import { native } from '../../native';
import type { NativeVmFd } from '../../native/addon';
import { KvmIrqLine } from './kvm-irq-line';
import { KvmMsiRoutes } from './kvm-msi-routes';

/** KVM's in-kernel irqchip: legacy lines through KVM_IRQ_LINE, MSIs through irqfds with GSI routes. */
export class KvmInterrupts implements Interrupts {
  readonly msi: KvmMsiRoutes;
  readonly connect: (gsi: number) => IrqLine;

  constructor(vm: NativeVmFd, logger?: WarnLogger) {
    this.connect = sharedLines((gsi) => new KvmIrqLine(vm, gsi));
    this.msi = new KvmMsiRoutes(vm, () => new native.EventFd(), logger);
  }

  close(): void {
    this.msi.close();
  }
}
