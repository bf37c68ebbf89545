/**
 * PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2), ports 0xCF8-0xCFF:
 *   1. the guest writes CONFIG_ADDRESS (a dword at 0xCF8): enable bit 31, bus 23:16, device 15:11, function
 *      10:8, register 7:2 (bits 1:0 read back as zero);
 *   2. it then reads or writes CONFIG_DATA at 0xCFC + n with a byte, word or dword access: register + n of the
 *      addressed function. An access running past 0xCFF, or made with the enable bit clear, reads all-ones and
 *      writes nothing (as QEMU's PC host bridge).
 * CONFIG_ADDRESS takes dword accesses only; narrower accesses to 0xCF8-0xCFB are ignored (0xCF9 is the reset
 * control register on PC chipsets, not this one).
 */
import { allOnes, BadAccessLog, isAccessSize, NULL_LOGGER, type BusDevice, type WarnLogger } from '../bus';
import type { PciRoot } from './pci-root';

/** First port: CONFIG_ADDRESS. */
export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
/** Ports claimed: CONFIG_ADDRESS (4) and CONFIG_DATA (4). */
export const PCI_CONFIG_IO_LEN = 8;
/** Offset of CONFIG_DATA from the first port. */
export const PCI_CONFIG_DATA_OFFSET = 4;
/** CONFIG_ADDRESS: configuration cycles enabled. */
export const CONFIG_ADDRESS_ENABLE = 0x8000_0000;
/** CONFIG_ADDRESS bits that hold state (enable, bus, device, function, dword register). */
const CONFIG_ADDRESS_WRITABLE = 0x80ff_fffc;
/** CONFIG_ADDRESS: bus number shift (8 bits). */
const BUS_SHIFT = 16;
/** CONFIG_ADDRESS: device number shift (5 bits). */
const DEVICE_SHIFT = 11;
/** CONFIG_ADDRESS: function number shift (3 bits). */
const FUNCTION_SHIFT = 8;
/** CONFIG_ADDRESS: register number bits (a dword offset into the 256-byte space). */
const REGISTER_MASK = 0xfc;

export class PciConfigIo implements BusDevice {
  /** The latched CONFIG_ADDRESS. */
  address = 0;
  private readonly bad: BadAccessLog;

  constructor(
    private readonly root: PciRoot,
    logger: WarnLogger = NULL_LOGGER,
  ) {
    this.bad = new BadAccessLog('pci-config-io', logger);
  }

  read(offset: number, size: number): number {
    if (!isAccessSize(size)) return 0;
    if (offset < PCI_CONFIG_DATA_OFFSET) {
      if (offset === 0 && size === 4) return this.address;
      this.bad.report(false, offset, size, 0);
      return allOnes(size);
    }
    const n = offset - PCI_CONFIG_DATA_OFFSET;
    if ((this.address & CONFIG_ADDRESS_ENABLE) === 0 || n + size > 4) return allOnes(size);
    return this.root.readConfig(...this.decode(), (this.address & REGISTER_MASK) + n, size);
  }

  write(offset: number, size: number, value: number): void {
    if (!isAccessSize(size)) return;
    if (offset < PCI_CONFIG_DATA_OFFSET) {
      if (offset === 0 && size === 4) this.address = (value & CONFIG_ADDRESS_WRITABLE) >>> 0;
      else this.bad.report(true, offset, size, value);
      return;
    }
    const n = offset - PCI_CONFIG_DATA_OFFSET;
    if ((this.address & CONFIG_ADDRESS_ENABLE) === 0 || n + size > 4) return;
    this.root.writeConfig(...this.decode(), (this.address & REGISTER_MASK) + n, size, value);
  }

  private decode(): [bus: number, device: number, fn: number] {
    const a = this.address;
    return [(a >>> BUS_SHIFT) & 0xff, (a >>> DEVICE_SHIFT) & 0x1f, (a >>> FUNCTION_SHIFT) & 0x7];
  }
}
