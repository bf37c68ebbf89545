import type { BusDevice } from '../bus';
import type { IrqLine } from '../irq/irq-line';
import type { PciConfigSpace } from './pci-config-space';

/** The register-level device behind one BAR; it sees offsets from the BAR's start, never the address. */
export interface PciBarRegion {
  /** BAR register index, as defined in the function's config space. */
  index: number;
  device: BusDevice;
}

/**
 * A function on the PCI bus: its configuration space plus the devices its BARs decode to. The PCI root maps
 * and moves the BARs on the buses as the guest programs them; the function never sees where they are.
 */
export interface PciFunction {
  /** Short name for logs and bus entries ("virtio-blk"). */
  readonly name: string;
  readonly config: PciConfigSpace;
  readonly barRegions: readonly PciBarRegion[];
  /** Called after every guest write to the config space (capability registers, e.g. MSI-X enable). */
  configWritten?(offset: number, size: number): void;
  /** Called before a guest read of the config space, to refresh registers computed on access. */
  beforeConfigRead?(offset: number, size: number): void;
  /** Told where a BAR decodes after each change (undefined: not decoded), for fast paths keyed by address. */
  barMapped?(index: number, base: number | undefined): void;
  /** Gives a function with an interrupt pin its output onto the routed INTx line (at attach). */
  connectIntx?(line: IrqLine): void;
}
