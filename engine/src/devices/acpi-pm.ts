/**
 * ACPI PM1a event and control blocks (fixed hardware power button and soft-off), as QEMU's q35/ICH9 PM.
 *
 * Protocol:
 * 1. The host presses the power button: PWRBTN_STS (PM1_STS bit 8) is set; if the guest enabled
 *    PWRBTN_EN (PM1_EN bit 8) and SCI_EN (PM1_CNT bit 0) is set, the SCI line goes high.
 * 2. The guest's SCI handler (or a polling guest) reads PM1_STS, clears PWRBTN_STS by writing 1 to it
 *    (write-1-to-clear), which lowers SCI, and starts its shutdown.
 * 3. To power off it writes PM1_CNT with SLP_TYP = the \_S5 value (0, as QEMU's DSDT declares) and
 *    SLP_EN (bit 13) set: onPowerOff() is called. SLP_EN always reads back 0. Other SLP_TYPs are
 *    sleep states this platform lacks: logged and ignored.
 *
 * The two blocks are separate FADT registers, so this class hands out two bus devices sharing one state:
 * `eventBlock` (PM1_EVT_LEN 4: PM1_STS at +0, PM1_EN at +2) and `controlBlock` (PM1_CNT_LEN 2).
 * Byte, word and (event block) dword accesses all work; a partial write to PM1_CNT merges with the
 * bytes not written, as QEMU does. SCI_EN is set from reset: with SMI_CMD = 0 in the FADT, OSPM takes
 * the platform to be in ACPI mode already and never sets it (ACPICA's acpi_hw_get_mode).
 */
import { allOnes, type AccessSize } from '../bus/access-size';
import type { BusDevice } from '../bus/bus-device';
import { NULL_LOGGER, type WarnLogger } from '../bus/warn-logger';
import type { IrqLine } from '../irq/irq-line';

/** PM1_STS: offset in the event block, 16 bits, write-1-to-clear. */
export const PM1_STS_OFFSET = 0;
/** PM1_EN: offset in the event block, 16 bits, read/write. */
export const PM1_EN_OFFSET = 2;
/** PM1_STS bit 8: the power button was pressed. */
export const PM1_STS_PWRBTN = 1 << 8;
/** PM1_EN bit 8: a power button press raises the SCI. */
export const PM1_EN_PWRBTN = 1 << 8;

/** PM1_CNT bit 0: SCI_EN, power management events raise the SCI (rather than an SMI). */
export const PM1_CNT_SCI_EN = 1 << 0;
/** PM1_CNT bits 10-12: SLP_TYP, the sleep state entered when SLP_EN is written. */
export const PM1_CNT_SLP_TYP_SHIFT = 10;
export const PM1_CNT_SLP_TYP_MASK = 0x7 << PM1_CNT_SLP_TYP_SHIFT;
/** PM1_CNT bit 13: SLP_EN, write-only trigger for the SLP_TYP transition; reads 0. */
export const PM1_CNT_SLP_EN = 1 << 13;
/** SLP_TYP of S5 (soft off): the value QEMU's DSDT puts in \_S5, and ours must too. */
export const SLP_TYP_S5 = 0;

/** 16-bit register mask. */
const REG16 = 0xffff;
/** PM1_CNT after reset: ACPI mode (SCI_EN) because there is no SMI_CMD to switch modes with. */
const PM1_CNT_RESET = PM1_CNT_SCI_EN;

export interface AcpiPmOptions {
  /** The SCI interrupt line (level, high while an enabled event is pending). */
  sci: IrqLine;
  /** Called synchronously when the guest enters S5. */
  onPowerOff(): void;
  logger?: WarnLogger;
}

export class AcpiPm {
  /** PM1a_EVT_BLK: PM1_STS (+0) and PM1_EN (+2). */
  readonly eventBlock: BusDevice;
  /** PM1a_CNT_BLK: PM1_CNT (+0). */
  readonly controlBlock: BusDevice;

  private sts = 0;
  private en = 0;
  private cnt = PM1_CNT_RESET;
  private sciHigh = false;
  /** Bit n set once SLP_TYP n was reported as unsupported: one warning per type, however often asked. */
  private warnedSleepTypes = 0;

  private readonly sci: IrqLine;
  private readonly onPowerOff: () => void;
  private readonly logger: WarnLogger;

  constructor(options: AcpiPmOptions) {
    this.sci = options.sci;
    this.onPowerOff = options.onPowerOff;
    this.logger = options.logger ?? NULL_LOGGER;
    this.eventBlock = {
      read: (offset, size) => this.readEvent(offset, size as AccessSize),
      write: (offset, size, value) => this.writeEvent(offset, size as AccessSize, value),
    };
    this.controlBlock = {
      read: (offset, size) => this.readControl(offset, size as AccessSize),
      write: (offset, size, value) => this.writeControl(offset, size as AccessSize, value),
    };
  }

  /** Host side: the graceful-shutdown request. */
  pressPowerButton(): void {
    this.sts |= PM1_STS_PWRBTN;
    this.updateSci();
  }

  /** Back to power-on state (VM reset). */
  reset(): void {
    this.sts = 0;
    this.en = 0;
    this.cnt = PM1_CNT_RESET;
    this.updateSci();
  }

  private readEvent(offset: number, size: AccessSize): number {
    const block = (this.sts | (this.en << 16)) >>> 0;
    return ((block >>> (offset * 8)) & allOnes(size)) >>> 0;
  }

  private writeEvent(offset: number, size: AccessSize, value: number): void {
    const shift = offset * 8;
    const written = (allOnes(size) << shift) >>> 0;
    const bits = ((value & allOnes(size)) << shift) >>> 0;
    this.sts &= ~(bits & REG16); // write-1-to-clear; bytes not written clear nothing
    const enWritten = written >>> 16;
    this.en = ((this.en & ~enWritten) | (bits >>> 16)) & REG16;
    this.updateSci();
  }

  private readControl(offset: number, size: AccessSize): number {
    return (this.cnt >>> (offset * 8)) & allOnes(size);
  }

  private writeControl(offset: number, size: AccessSize, value: number): void {
    const shift = offset * 8;
    const written = (allOnes(size) << shift) & REG16;
    const merged = (this.cnt & ~written) | ((value << shift) & written);
    this.cnt = merged & ~PM1_CNT_SLP_EN;
    this.updateSci();
    if ((merged & PM1_CNT_SLP_EN) !== 0) this.sleep((merged & PM1_CNT_SLP_TYP_MASK) >>> PM1_CNT_SLP_TYP_SHIFT);
  }

  private sleep(type: number): void {
    if (type === SLP_TYP_S5) {
      this.onPowerOff();
      return;
    }
    if ((this.warnedSleepTypes & (1 << type)) !== 0) return;
    this.warnedSleepTypes |= 1 << type;
    this.logger.warn(
      { device: 'acpi-pm', slpTyp: type },
      `acpi-pm: guest asked for sleep type ${type}; only S5 (SLP_TYP ${SLP_TYP_S5}) is supported: ignored`,
    );
  }

  private updateSci(): void {
    const high = (this.sts & this.en & PM1_STS_PWRBTN) !== 0 && (this.cnt & PM1_CNT_SCI_EN) !== 0;
    if (high === this.sciHigh) return;
    this.sciHigh = high;
    this.sci.setLevel(high);
  }
}
