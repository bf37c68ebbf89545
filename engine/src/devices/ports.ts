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
