/**
 * FADT, "FACP" (ACPI 6.x, section 5.2.9), revision 6: the fixed hardware of a PC-style (not hardware-reduced)
 * platform. hv declares only what its devices implement:
 * - PM1a event block at 0x600 (PM1_STS/PM1_EN, 4 bytes) and control block at 0x604 (PM1_CNT, 2 bytes), as QEMU q35;
 * - SCI on ISA IRQ 9; SMI_CMD 0, so the OS takes the platform to be in ACPI mode already (SCI_EN is set at reset);
 * - the reset register: the i8042 command port 0x64 with value 0xFE (the same pulse Linux's keyboard-controller
 *   reboot uses, so both reboot paths end in the one i8042 reset);
 * - IAPC_BOOT_ARCH: legacy ISA devices and an 8042, no VGA; the RTC's century at CMOS index 0x32;
 * - a FACS (all zero: no firmware to wake, no global lock owner) at FIRMWARE_CTRL, as QEMU's pc tables have;
 * - no PM timer, GPE blocks or sleep button.
 * Every address also appears as a Generic Address in the X_ fields, and the DSDT in both DSDT and X_DSDT.
 */
import { CMOS_CENTURY } from '../devices/cmos-rtc';
import { I8042_CMD_RESET } from '../devices/i8042';
import { I8042_COMMAND_PORT, PM1A_CNT, PM1A_CNT_LEN, PM1A_EVT, PM1A_EVT_LEN, SCI_IRQ } from '../devices/ports';
import { GAS_ACCESS_BYTE, GAS_ACCESS_WORD, ioGas, putGas } from './gas';
import { buildSdt, SDT_HEADER_SIZE } from './sdt-header';

/** FADT signature. */
export const FADT_SIGNATURE = 'FACP';
/** FADT major revision (ACPI 6.x). */
export const FADT_REVISION = 6;
/** FADT minor revision: ACPI 6.3's layout. */
export const FADT_MINOR_REVISION = 3;
/** Whole FADT length in revision 6 (header included). */
export const FADT_LENGTH = 276;

/** Byte offsets of the FADT fields hv sets (from the start of the table). */
export const FADT_OFFSETS = {
  firmwareCtrl: 36,
  dsdt: 40,
  sciInt: 46,
  smiCmd: 48,
  pm1aEvtBlk: 56,
  pm1aCntBlk: 64,
  pm1EvtLen: 88,
  pm1CntLen: 89,
  century: 108,
  iapcBootArch: 109,
  flags: 112,
  resetReg: 116,
  resetValue: 128,
  minorVersion: 131,
  xDsdt: 140,
  xPm1aEvtBlk: 148,
  xPm1aCntBlk: 172,
} as const;

/** Flags bit 0: WBINVD works to flush caches. */
export const FADT_WBINVD = 1 << 0;
/** Flags bit 2: C1 is supported on all processors. */
export const FADT_PROC_C1 = 1 << 2;
/** Flags bit 5: no fixed-feature sleep button. */
export const FADT_SLP_BUTTON = 1 << 5;
/** Flags bit 10: the reset register is supported. */
export const FADT_RESET_REG_SUP = 1 << 10;
/** The flags hv sets; bit 4 (PWR_BUTTON) clear: the power button is the fixed-feature one in PM1. */
export const FADT_FLAGS = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;

/** IAPC_BOOT_ARCH bit 0: user-visible legacy (ISA/LPC) devices exist (COM1). */
export const IAPC_LEGACY_DEVICES = 1 << 0;
/** IAPC_BOOT_ARCH bit 1: an 8042 keyboard controller exists. */
export const IAPC_8042 = 1 << 1;
/** IAPC_BOOT_ARCH bit 2: VGA is not present (do not probe it). */
export const IAPC_VGA_NOT_PRESENT = 1 << 2;
/** The boot architecture flags hv sets (the CMOS RTC is present, so bit 5 stays clear). */
export const FADT_IAPC_BOOT_ARCH = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT;

/** Builds the FADT pointing at the DSDT and the FACS (both below 4 GiB, as the 32-bit fields need). */
export function buildFadt(dsdtGpa: number, facsGpa: number): Uint8Array {
  for (const [name, gpa] of [['DSDT', dsdtGpa], ['FACS', facsGpa]] as const) {
    if (!Number.isSafeInteger(gpa) || gpa <= 0 || gpa > 0xffff_ffff) throw new RangeError(`${name} address ${gpa} is not a 32-bit address`);
  }
  const table = new Uint8Array(FADT_LENGTH);
  const view = new DataView(table.buffer);
  const o = FADT_OFFSETS;
  view.setUint32(o.firmwareCtrl, facsGpa, true);
  view.setUint32(o.dsdt, dsdtGpa, true);
  view.setUint16(o.sciInt, SCI_IRQ, true);
  view.setUint32(o.smiCmd, 0, true);
  view.setUint32(o.pm1aEvtBlk, PM1A_EVT, true);
  view.setUint32(o.pm1aCntBlk, PM1A_CNT, true);
  view.setUint8(o.pm1EvtLen, PM1A_EVT_LEN);
  view.setUint8(o.pm1CntLen, PM1A_CNT_LEN);
  view.setUint8(o.century, CMOS_CENTURY);
  view.setUint16(o.iapcBootArch, FADT_IAPC_BOOT_ARCH, true);
  view.setUint32(o.flags, FADT_FLAGS, true);
  putGas(view, o.resetReg, ioGas(I8042_COMMAND_PORT, 1, GAS_ACCESS_BYTE));
  view.setUint8(o.resetValue, I8042_CMD_RESET);
  view.setUint8(o.minorVersion, FADT_MINOR_REVISION);
  view.setBigUint64(o.xDsdt, BigInt(dsdtGpa), true);
  putGas(view, o.xPm1aEvtBlk, ioGas(PM1A_EVT, PM1A_EVT_LEN, GAS_ACCESS_WORD));
  putGas(view, o.xPm1aCntBlk, ioGas(PM1A_CNT, PM1A_CNT_LEN, GAS_ACCESS_WORD));
  return buildSdt(FADT_SIGNATURE, FADT_REVISION, table.subarray(SDT_HEADER_SIZE));
}
