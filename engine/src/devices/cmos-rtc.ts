/**
 * MC146818-style CMOS RTC and NVRAM (128 bytes), as PCs and QEMU's mc146818rtc have it, at ports 0x70/0x71.
 *
 * Protocol:
 * 1. The guest writes a register index to port 0x70 (bit 7 is the NMI mask on PCs: accepted and ignored),
 *    then reads or writes the register at port 0x71.
 * 2. Time registers (seconds, minutes, hours, day of week, date, month, year, and the century at 0x32) read
 *    the host clock in UTC, in BCD or binary and in 24- or 12-hour form as status register B says
 *    (default: BCD, 24-hour). Status A never shows an update in progress (UIP clear), C has no interrupt
 *    flags, D reports valid RAM and time (VRT).
 * 3. Writing a time register sets the guest's clock: the device keeps the difference to the host clock as an
 *    offset (so the guest's clock keeps ticking from what it wrote, as on hardware); the day of week follows
 *    from the date and its writes are ignored. Invalid values (bad BCD, out of range) are logged and ignored.
 * 4. Alarms and periodic/update interrupts are stored but never fire (no timers here; guests poll).
 * 5. NVRAM holds what firmware-style probes read, as QEMU's pc machine fills it: base memory (0x15/0x16,
 *    640 KiB), extended memory above 1 MiB in KiB (0x17/0x18 and 0x30/0x31, capped), low RAM above 16 MiB in
 *    64 KiB units (0x34/0x35) and RAM above 4 GiB in 64 KiB units (0x5b-0x5d), and the vCPU count - 1 (0x5f).
 */
import type { BusDevice } from '../bus/bus-device';
import { hex, NULL_LOGGER, type WarnLogger } from '../bus/warn-logger';

/** Register index: seconds. */
export const CMOS_SECONDS = 0x00;
/** Register index: seconds alarm. */
export const CMOS_SECONDS_ALARM = 0x01;
/** Register index: minutes. */
export const CMOS_MINUTES = 0x02;
/** Register index: minutes alarm. */
export const CMOS_MINUTES_ALARM = 0x03;
/** Register index: hours. */
export const CMOS_HOURS = 0x04;
/** Register index: hours alarm. */
export const CMOS_HOURS_ALARM = 0x05;
/** Register index: day of week, 1 = Sunday. */
export const CMOS_DAY_OF_WEEK = 0x06;
/** Register index: day of month. */
export const CMOS_DAY_OF_MONTH = 0x07;
/** Register index: month, 1-12. */
export const CMOS_MONTH = 0x08;
/** Register index: year within the century, 0-99. */
export const CMOS_YEAR = 0x09;
/** Register index: status A (UIP, divider, rate). */
export const CMOS_STATUS_A = 0x0a;
/** Register index: status B (SET, interrupt enables, data mode, 24-hour). */
export const CMOS_STATUS_B = 0x0b;
/** Register index: status C (interrupt flags, read-to-clear). */
export const CMOS_STATUS_C = 0x0c;
/** Register index: status D (VRT). */
export const CMOS_STATUS_D = 0x0d;
/** Register index: base memory in KiB, low byte (0x16 high). */
export const CMOS_BASE_MEMORY = 0x15;
/** Register index: extended memory above 1 MiB in KiB, low byte (0x18 high). */
export const CMOS_EXTENDED_MEMORY = 0x17;
/** Register index: copy of the extended memory size, low byte (0x31 high). */
export const CMOS_EXTENDED_MEMORY_COPY = 0x30;
/** Register index: century (as the FADT's CENTURY field names it). */
export const CMOS_CENTURY = 0x32;
/** Register index: RAM between 16 MiB and the PCI hole in 64 KiB units, low byte (0x35 high). */
export const CMOS_MEMORY_ABOVE_16M = 0x34;
/** Register index: RAM above 4 GiB in 64 KiB units, three bytes 0x5b-0x5d (low first). */
export const CMOS_MEMORY_ABOVE_4G = 0x5b;
/** Register index: number of vCPUs less one (QEMU's SeaBIOS convention). */
export const CMOS_CPU_COUNT = 0x5f;
/** NVRAM size: the index port's low 7 bits. */
export const CMOS_SIZE = 128;
/** Index port bit 7: NMI disable on PCs (ignored here). */
export const CMOS_INDEX_NMI_DISABLE = 0x80;

/** Status A bit 7: update in progress. */
export const RTC_A_UIP = 0x80;
/** Status A at reset: 32.768 kHz time base (divider 010), 1024 Hz periodic rate (0110). */
export const RTC_A_RESET = 0x26;
/** Status A: the divider and rate bits the guest may write. */
const RTC_A_WRITABLE = 0x7f;
/** Status B bit 7: SET, the guest is setting the clock (updates inhibited). */
export const RTC_B_SET = 0x80;
/** Status B bit 2: data mode binary (clear: BCD). */
export const RTC_B_BINARY = 0x04;
/** Status B bit 1: 24-hour mode (clear: 12-hour with bit 7 of hours = PM). */
export const RTC_B_24H = 0x02;
/** Status B at reset: BCD, 24-hour, no interrupts. */
export const RTC_B_RESET = RTC_B_24H;
/** Status D bit 7: valid RAM and time (the battery is fine). */
export const RTC_D_VRT = 0x80;
/** Hours bit 7 in 12-hour mode: PM. */
export const RTC_HOURS_PM = 0x80;

/** Base memory reported: 640 KiB of conventional memory. */
const BASE_MEMORY_KIB = 640;
/** One MiB, where extended memory starts. */
const ONE_MIB = 1024 * 1024;
/** 16 MiB, from where 0x34/0x35 count. */
const SIXTEEN_MIB = 16 * ONE_MIB;
/** 4 GiB, from where 0x5b-0x5d count. */
const FOUR_GIB = 4 * 1024 * ONE_MIB;
/** Unit of the 0x34/0x35 and 0x5b-0x5d sizes: 64 KiB. */
const MEMORY_UNIT = 64 * 1024;
/** Largest 16-bit memory size field. */
const MAX_U16 = 0xffff;
/** Largest 24-bit memory size field. */
const MAX_U24 = 0xff_ffff;
/** Time-of-day writes logged as invalid before going quiet. */
const MAX_INVALID_REPORTS = 8;

export interface CmosRtcOptions {
  /** Guest RAM below the PCI hole in bytes (low RAM). */
  lowMemoryBytes: number;
  /** Guest RAM from 4 GiB up, in bytes. */
  highMemoryBytes?: number;
  /** vCPU count. */
  vcpus?: number;
  /** The host clock in milliseconds since the epoch (default Date.now), injectable for tests. */
  now?: () => number;
  logger?: WarnLogger;
}

/** The time fields, binary. */
interface Fields {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const toBcd = (value: number): number => ((Math.floor(value / 10) % 10) << 4) | value % 10;
const fromBcd = (value: number): number | undefined =>
  (value & 0x0f) > 9 || value >>> 4 > 9 ? undefined : (value >>> 4) * 10 + (value & 0x0f);

export class CmosRtc {
  /** Index port (0x70) and data port (0x71) as one 2-byte device. */
  readonly device: BusDevice;

  private index = 0;
  private readonly nvram = new Uint8Array(CMOS_SIZE);
  /** Guest clock minus host clock, in milliseconds (whole seconds). */
  private offsetMs = 0;
  private invalidReports = 0;
  private readonly now: () => number;
  private readonly logger: WarnLogger;
  private readonly options: CmosRtcOptions;

  constructor(options: CmosRtcOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? NULL_LOGGER;
    // A word access acts as two byte accesses (index, then data), as on an 8-bit ISA device.
    this.device = {
      read: (offset, size) => {
        let value = 0;
        for (let i = 0; i < size; i++) value |= this.readPort(offset + i) << (8 * i);
        return value >>> 0;
      },
      write: (offset, size, value) => {
        for (let i = 0; i < size; i++) this.writePort(offset + i, (value >>> (8 * i)) & 0xff);
      },
    };
    this.reset();
  }

  /** Back to power-on state: status registers and NVRAM; a guest-set clock offset survives, as the battery does. */
  reset(): void {
    this.index = 0;
    this.nvram.fill(0);
    this.nvram[CMOS_STATUS_A] = RTC_A_RESET;
    this.nvram[CMOS_STATUS_B] = RTC_B_RESET;
    this.nvram[CMOS_STATUS_D] = RTC_D_VRT;
    const low = this.options.lowMemoryBytes;
    const high = this.options.highMemoryBytes ?? 0;
    this.putLe(CMOS_BASE_MEMORY, BASE_MEMORY_KIB, 2);
    const extendedKib = Math.min(MAX_U16, Math.max(0, Math.floor((low - ONE_MIB) / 1024)));
    this.putLe(CMOS_EXTENDED_MEMORY, extendedKib, 2);
    this.putLe(CMOS_EXTENDED_MEMORY_COPY, extendedKib, 2);
    this.putLe(CMOS_MEMORY_ABOVE_16M, Math.min(MAX_U16, Math.max(0, Math.floor((low - SIXTEEN_MIB) / MEMORY_UNIT))), 2);
    this.putLe(CMOS_MEMORY_ABOVE_4G, Math.min(MAX_U24, Math.floor(high / MEMORY_UNIT)), 3);
    this.nvram[CMOS_CPU_COUNT] = Math.max(0, Math.min(0xff, (this.options.vcpus ?? 1) - 1));
  }

  /** The guest's clock now, in milliseconds since the epoch (host clock plus what the guest set). */
  guestTimeMs(): number {
    return this.now() + this.offsetMs;
  }

  /** The index port is write-only on PCs: it reads as a floating bus. */
  private readPort(port: number): number {
    return port === 0 ? 0xff : this.readRegister(this.index);
  }

  private writePort(port: number, value: number): void {
    if (port === 0) this.index = value & ~CMOS_INDEX_NMI_DISABLE & (CMOS_SIZE - 1);
    else this.writeRegister(this.index, value);
  }

  private putLe(at: number, value: number, bytes: number): void {
    for (let i = 0; i < bytes; i++) this.nvram[at + i] = (value >>> (8 * i)) & 0xff;
  }

  private fields(): Fields {
    const date = new Date(this.guestTimeMs());
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hours: date.getUTCHours(),
      minutes: date.getUTCMinutes(),
      seconds: date.getUTCSeconds(),
    };
  }

  private binary(): boolean {
    return (this.nvram[CMOS_STATUS_B] & RTC_B_BINARY) !== 0;
  }

  /** A binary value in the guest's data mode. */
  private encode(value: number): number {
    return this.binary() ? value : toBcd(value);
  }

  private encodeHours(hours: number): number {
    if ((this.nvram[CMOS_STATUS_B] & RTC_B_24H) !== 0) return this.encode(hours);
    const twelve = hours % 12 === 0 ? 12 : hours % 12;
    return this.encode(twelve) | (hours >= 12 ? RTC_HOURS_PM : 0);
  }

  private readRegister(index: number): number {
    switch (index) {
      case CMOS_SECONDS:
        return this.encode(this.fields().seconds);
      case CMOS_MINUTES:
        return this.encode(this.fields().minutes);
      case CMOS_HOURS:
        return this.encodeHours(this.fields().hours);
      case CMOS_DAY_OF_WEEK:
        return this.encode(new Date(this.guestTimeMs()).getUTCDay() + 1);
      case CMOS_DAY_OF_MONTH:
        return this.encode(this.fields().day);
      case CMOS_MONTH:
        return this.encode(this.fields().month);
      case CMOS_YEAR:
        return this.encode(this.fields().year % 100);
      case CMOS_CENTURY:
        return this.encode(Math.floor(this.fields().year / 100) % 100);
      case CMOS_STATUS_A:
        return this.nvram[index] & ~RTC_A_UIP;
      case CMOS_STATUS_C: {
        const flags = this.nvram[index];
        this.nvram[index] = 0; // read-to-clear
        return flags;
      }
      default:
        return this.nvram[index];
    }
  }

  private writeRegister(index: number, value: number): void {
    switch (index) {
      case CMOS_SECONDS:
        return this.setField('seconds', this.decode(value), 0, 59);
      case CMOS_MINUTES:
        return this.setField('minutes', this.decode(value), 0, 59);
      case CMOS_HOURS:
        return this.setField('hours', this.decodeHours(value), 0, 23);
      case CMOS_DAY_OF_WEEK:
        return; // follows from the date
      case CMOS_DAY_OF_MONTH:
        return this.setField('day', this.decode(value), 1, 31);
      case CMOS_MONTH:
        return this.setField('month', this.decode(value), 1, 12);
      case CMOS_YEAR: {
        const year = this.decode(value);
        return this.setField('year', year === undefined ? undefined : Math.floor(this.fields().year / 100) * 100 + year, 0, 9999);
      }
      case CMOS_CENTURY: {
        const century = this.decode(value);
        return this.setField('year', century === undefined ? undefined : century * 100 + (this.fields().year % 100), 0, 9999);
      }
      case CMOS_STATUS_A:
        this.nvram[index] = value & RTC_A_WRITABLE; // UIP is read-only
        return;
      case CMOS_STATUS_C:
      case CMOS_STATUS_D:
        return; // read-only
      default:
        this.nvram[index] = value;
    }
  }

  private decode(value: number): number | undefined {
    return this.binary() ? value : fromBcd(value);
  }

  private decodeHours(value: number): number | undefined {
    if ((this.nvram[CMOS_STATUS_B] & RTC_B_24H) !== 0) return this.decode(value);
    const twelve = this.decode(value & ~RTC_HOURS_PM);
    if (twelve === undefined || twelve < 1 || twelve > 12) return undefined;
    return (twelve % 12) + ((value & RTC_HOURS_PM) !== 0 ? 12 : 0);
  }

  /** Moves the guest clock so that `field` reads `value`, keeping the other fields. */
  private setField(field: keyof Fields, value: number | undefined, min: number, max: number): void {
    if (value === undefined || value < min || value > max) {
      if (this.invalidReports < MAX_INVALID_REPORTS) {
        this.invalidReports++;
        this.logger.warn({ device: 'cmos-rtc', field }, `cmos-rtc: invalid ${field} written (index ${hex(this.index)}): ignored`);
      }
      return;
    }
    const f = { ...this.fields(), [field]: value };
    const current = this.guestTimeMs();
    const subsecond = current - Math.floor(current / 1000) * 1000;
    const wanted = new Date(0);
    wanted.setUTCFullYear(f.year, f.month - 1, f.day);
    wanted.setUTCHours(f.hours, f.minutes, f.seconds, 0);
    this.offsetMs = wanted.getTime() + subsecond - this.now();
  }
}
