/**
 * A device's interrupt line on KVM's in-kernel PIC and IOAPIC: each level change becomes KVM_IRQ_LINE on the
 * line's GSI (a 16550A on GSI 4 raises it while an enabled interrupt is pending and lowers it when serviced).
 */
import type { IrqLine } from '../../irq/irq-line';
import type { NativeVmFd } from '../../native/addon';
import { LEGACY_GSI_COUNT } from './gsi-routing';

export class KvmIrqLine implements IrqLine {
  private level = false;

  constructor(
    private readonly vm: NativeVmFd,
    readonly gsi: number,
  ) {
    if (!Number.isInteger(gsi) || gsi < 0 || gsi >= LEGACY_GSI_COUNT) throw new RangeError(`GSI ${gsi} is not a legacy line 0..${LEGACY_GSI_COUNT - 1}`);
  }

  setLevel(high: boolean): void {
    if (high === this.level) return;
    this.level = high;
    this.vm.irqLine(this.gsi, high ? 1 : 0);
  }
}
