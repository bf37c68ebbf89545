/** The hv microvm's fixed port I/O map and ISA interrupt numbers (DESIGN.md, "The guest-visible platform"). */

/** COM1 16550A UART: eight byte-wide registers. */
export const COM1_BASE = 0x3f8;
export const COM1_LEN = 8;
/** COM1's legacy ISA interrupt. */
export const COM1_IRQ = 4;

/** ACPI PM1a event block (PM1_STS, PM1_EN): the FADT's PM1a_EVT_BLK and PM1_EVT_LEN. */
export const PM1A_EVT = 0x600;
export const PM1A_EVT_LEN = 4;
/** ACPI PM1a control block (PM1_CNT): the FADT's PM1a_CNT_BLK and PM1_CNT_LEN. */
export const PM1A_CNT = 0x604;
export const PM1A_CNT_LEN = 2;
/** The ACPI SCI's ISA interrupt (FADT SCI_INT), as on PC chipsets and QEMU. */
export const SCI_IRQ = 9;

/** QEMU isa-debug-exit compatible port (optional per domain); test guests use iosize 4. */
export const DEBUG_EXIT_PORT = 0xf4;
export const DEBUG_EXIT_LEN = 4;

/** i8042 keyboard controller: data port (output/input buffer). */
export const I8042_DATA_PORT = 0x60;
/** i8042 status (read) / command (write) port; command 0xFE pulses the CPU reset line. */
export const I8042_COMMAND_PORT = 0x64;
/** The i8042's ISA interrupt for keyboard data (IRQ 1). */
export const I8042_KBD_IRQ = 1;
/** QEMU's ISA pvpanic port: one byte, reads the supported events, writes report them. */
export const PVPANIC_PORT = 0x505;
export const PVPANIC_LEN = 1;
/** MC146818 CMOS/RTC: index port (bit 7 is the NMI mask) and the data port after it. */
export const CMOS_INDEX_PORT = 0x70;
export const CMOS_DATA_PORT = 0x71;
export const CMOS_LEN = 2;
/** The RTC's ISA interrupt (IRQ 8). */
export const RTC_IRQ = 8;
