/**
 * pvpanic, QEMU's ISA paravirtual panic device (docs/specs/pvpanic.rst), one byte at port 0x505.
 *
 * Protocol:
 * 1. The guest's driver reads the port: the bits of the events this device supports (PANICKED | CRASH_LOADED).
 * 2. On a panic the guest writes PANICKED (bit 0): onPanic() is called, and the VM ends CRASHED/PANICKED.
 * 3. When a crash kernel (kdump) takes over it writes CRASH_LOADED (bit 1): logged; the guest keeps running.
 * Reserved bits are logged (a bounded number of times) and otherwise ignored.
 */
import type { BusDevice } from '../bus/bus-device';
import { hex, NULL_LOGGER, type WarnLogger } from '../bus/warn-logger';

/** Event bit 0: the guest panicked. */
export const PVPANIC_PANICKED = 1 << 0;
/** Event bit 1: a crash kernel was loaded and runs. */
export const PVPANIC_CRASH_LOADED = 1 << 1;
/** The events this device supports: what a read returns. */
export const PVPANIC_EVENTS = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
/** Reports about reserved bits before going quiet (a hostile guest must not flood the log). */
const MAX_RESERVED_REPORTS = 4;

export interface PvpanicOptions {
  /** Called synchronously when the guest reports a panic. */
  onPanic(): void;
  logger?: WarnLogger;
}

export class Pvpanic implements BusDevice {
  private readonly onPanic: () => void;
  private readonly logger: WarnLogger;
  private reservedReports = 0;

  constructor(options: PvpanicOptions) {
    this.onPanic = options.onPanic;
    this.logger = options.logger ?? NULL_LOGGER;
  }

  read(): number {
    return PVPANIC_EVENTS;
  }

  /** Only the low byte counts: the register is 8 bits wide. */
  write(_offset: number, _size: number, value: number): void {
    const events = value & 0xff;
    const reserved = events & ~PVPANIC_EVENTS;
    if (reserved !== 0 && this.reservedReports < MAX_RESERVED_REPORTS) {
      this.reservedReports++;
      this.logger.warn({ device: 'pvpanic', value: hex(value) }, `pvpanic: reserved event bits ${hex(reserved)} written: ignored`);
    }
    if ((events & PVPANIC_CRASH_LOADED) !== 0) {
      this.logger.warn({ device: 'pvpanic' }, 'pvpanic: the guest reports a loaded crash kernel (kdump) taking over');
    }
    if ((events & PVPANIC_PANICKED) !== 0) this.onPanic();
  }
}
