/**
 * VIRTIO_PCI_CAP_PCI_CFG (virtio 1.2 §4.1.4.9): a window onto the virtio BAR through configuration space, for
 * drivers that cannot map the BAR yet. The driver writes bar, offset and length (1, 2 or 4) into the capability,
 * then reads or writes pci_cfg_data: that access goes to the BAR at offset with that width.
 */
import { hex, type BusDevice, type WarnLogger } from '../../bus';
import type { PciConfigSpace } from '../../pci';
import {
  CAP_BAR,
  CAP_CFG_TYPE,
  CAP_LEN,
  CAP_LENGTH,
  CAP_OFFSET,
  CAP_PCI_CFG_DATA,
  PCI_CAP_ID_VENDOR,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_CFG_CAP_LENGTH,
} from './virtio-pci-layout';

export class PciCfgCapability {
  /** Offset of the capability in configuration space. */
  readonly offset: number;

  constructor(
    private readonly config: PciConfigSpace,
    private readonly barIndex: number,
    private readonly barSize: number,
    private readonly bar: BusDevice,
    private readonly logger: WarnLogger,
  ) {
    const at = config.addCapability(PCI_CAP_ID_VENDOR, VIRTIO_PCI_CFG_CAP_LENGTH);
    config.setU8(at + CAP_LEN, VIRTIO_PCI_CFG_CAP_LENGTH);
    config.setU8(at + CAP_CFG_TYPE, VIRTIO_PCI_CAP_PCI_CFG);
    // bar, offset, length and the data bytes are the driver's to write.
    config.setMask(at + CAP_BAR, 1, 0xff);
    config.setMask(at + CAP_OFFSET, 4, 0xffff_ffff);
    config.setMask(at + CAP_LENGTH, 4, 0xffff_ffff);
    config.setMask(at + CAP_PCI_CFG_DATA, 4, 0xffff_ffff);
    this.offset = at;
  }

  /** After a config write: a write to pci_cfg_data writes the BAR through the window. */
  configWritten(offset: number, size: number): void {
    if (!this.touchesData(offset, size)) return;
    const window = this.window();
    if (window) this.bar.write(window.offset, window.length, this.config.getU32(this.offset + CAP_PCI_CFG_DATA) % 256 ** window.length);
  }

  /** Before a config read: a read of pci_cfg_data reads the BAR through the window. */
  beforeConfigRead(offset: number, size: number): void {
    if (!this.touchesData(offset, size)) return;
    const window = this.window();
    if (window) this.config.setU32(this.offset + CAP_PCI_CFG_DATA, this.bar.read(window.offset, window.length));
  }

  private touchesData(offset: number, size: number): boolean {
    const data = this.offset + CAP_PCI_CFG_DATA;
    return offset < data + 4 && offset + size > data;
  }

  /** The window the driver programmed, or undefined (logged) unless it is an aligned 1/2/4-byte access inside the BAR. */
  private window(): { offset: number; length: 1 | 2 | 4 } | undefined {
    const bar = this.config.getU8(this.offset + CAP_BAR);
    const offset = this.config.getU32(this.offset + CAP_OFFSET);
    const length = this.config.getU32(this.offset + CAP_LENGTH);
    if (bar !== this.barIndex || (length !== 1 && length !== 2 && length !== 4) || offset % length !== 0 || offset + length > this.barSize) {
      this.logger.warn({ bar, offset: hex(offset), length }, 'PCI_CFG window is not an aligned 1, 2 or 4-byte access inside the BAR: ignored');
      return undefined;
    }
    return { offset, length };
  }
}
