import { hex, type WarnLogger } from '../bus';

/**
 * Where MSI and MSI-X messages go: the accelerator's interrupt delivery (KVM: an irqfd per vector with GSI
 * routing, or KVM_SIGNAL_MSI). A message is a 64-bit address (split) and 32-bit data, as the guest programmed.
 */
export interface MsiSink {
  deliver(addressLow: number, addressHigh: number, data: number): void;
}

/** Messages logged one by one before only the count goes on. */
const LOGGED_MESSAGES = 4;

/** For accelerators that cannot inject interrupts (emulated): counts messages and logs the first few. */
export class CountingMsiSink implements MsiSink {
  delivered = 0;

  constructor(private readonly logger?: WarnLogger) {}

  deliver(addressLow: number, addressHigh: number, data: number): void {
    this.delivered++;
    if (this.delivered <= LOGGED_MESSAGES) {
      this.logger?.warn(
        { address: hex(addressHigh * 0x1_0000_0000 + addressLow), data: hex(data) },
        'MSI message dropped: this accelerator cannot inject interrupts (the guest must poll)',
      );
    }
  }
}
