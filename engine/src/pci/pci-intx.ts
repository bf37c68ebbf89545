/**
 * INTx routing of the hv microvm: a fixed swizzle of slot pins onto four IOAPIC inputs, the conventional
 * PCI bridge swizzle (as QEMU's microvm/virt and a DSDT _PRT would describe it):
 *
 *   GSI = PCI_INTX_GSI_BASE + ((slot + pin - 1) mod 4)     pin 1..4 = INTA..INTD
 *
 * so slot 1 INTA → GSI 17, slot 2 INTA → GSI 18, slot 3 INTA → GSI 19, slot 4 INTA → GSI 16, ...
 * GSIs 16-19 are above the ISA interrupts (0-15) and within the 24 IOAPIC pins. Firmware writes the GSI into
 * the interrupt line register; hv has no firmware, so the PCI root does.
 */

/** First of the IOAPIC inputs PCI INTx lines are routed to. */
export const PCI_INTX_GSI_BASE = 16;
/** Number of IOAPIC inputs shared by PCI INTx lines. */
export const PCI_INTX_GSI_COUNT = 4;
/** Interrupt pin value for INTA. */
export const PCI_INTA = 1;
/** Interrupt pin value for INTD, the last pin. */
export const PCI_INTD = 4;

/** The GSI a slot's pin is wired to; throws for pins outside INTA..INTD. */
export function intxGsi(slot: number, pin: number): number {
  if (!Number.isInteger(pin) || pin < PCI_INTA || pin > PCI_INTD) throw new RangeError(`interrupt pin ${pin} is not INTA..INTD`);
  return PCI_INTX_GSI_BASE + ((slot + pin - 1) % PCI_INTX_GSI_COUNT);
}
