/**
 * PCI Express enhanced configuration access (ECAM): each function's 4 KiB configuration space is memory-mapped
 * at bus << 20 | device << 15 | function << 12 from the ECAM base (PCI_ECAM_START in layout.ts, described to the
 * guest by the ACPI MCFG table). Accesses must be naturally aligned (PCIe base spec §7.2.2); others are logged
 * and read all-ones / write nothing.
 */
import { allOnes, BadAccessLog, isAccessSize, NULL_LOGGER, type BusDevice, type WarnLogger } from '../bus';
import type { PciRoot } from './pci-root';

/** ECAM offset: bus number shift (8 bits). */
const BUS_SHIFT = 20;
/** ECAM offset: device number shift (5 bits). */
const DEVICE_SHIFT = 15;
/** ECAM offset: function number shift (3 bits). */
const FUNCTION_SHIFT = 12;
/** ECAM offset: register within the function's 4 KiB space. */
const REGISTER_MASK = 0xfff;

export class PciEcam implements BusDevice {
  private readonly bad: BadAccessLog;

  constructor(
    private readonly root: PciRoot,
    logger: WarnLogger = NULL_LOGGER,
  ) {
    this.bad = new BadAccessLog('pci-ecam', logger);
  }

  read(offset: number, size: number): number {
    if (!isAccessSize(size)) return 0;
    if (offset % size !== 0) {
      this.bad.report(false, offset, size, 0);
      return allOnes(size);
    }
    return this.root.readConfig(...decode(offset), offset & REGISTER_MASK, size);
  }

  write(offset: number, size: number, value: number): void {
    if (!isAccessSize(size)) return;
    if (offset % size !== 0) {
      this.bad.report(true, offset, size, value);
      return;
    }
    this.root.writeConfig(...decode(offset), offset & REGISTER_MASK, size, value);
  }
}

function decode(offset: number): [bus: number, device: number, fn: number] {
  return [(offset >>> BUS_SHIFT) & 0xff, (offset >>> DEVICE_SHIFT) & 0x1f, (offset >>> FUNCTION_SHIFT) & 0x7];
}
