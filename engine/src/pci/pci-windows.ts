import { PCI_MMIO32_END, PCI_MMIO32_START } from '../platform/layout';

/** An address range [start, end) BARs are placed in. */
export interface PciWindow {
  start: number;
  end: number;
}

/** Memory BARs: the 32-bit window in the PCI hole (layout.ts), reachable by 32-bit guests without paging. */
export const PCI_MMIO32_WINDOW: PciWindow = { start: PCI_MMIO32_START, end: PCI_MMIO32_END };
/** I/O BARs: ports 0xc000-0xffff, where PC firmware (SeaBIOS) puts them, clear of every legacy device. */
export const PCI_IO_WINDOW: PciWindow = { start: 0xc000, end: 0x1_0000 };
