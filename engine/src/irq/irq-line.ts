/**
 * An interrupt request line as a device drives it: a level, high while the device wants service
 * (a 16550A holds IRQ up while an enabled interrupt is pending; the ACPI SCI likewise).
 * The platform decides how a level reaches the guest (KVM_IRQ_LINE, an irqfd with resample, a poll).
 * Devices in this engine call `setLevel` only when their level changes.
 */
export interface IrqLine {
  setLevel(high: boolean): void;
}

/** A line connected to nothing: for devices whose interrupt the platform does not wire (or polled guests). */
export class NullIrqLine implements IrqLine {
  setLevel(): void {}
}
