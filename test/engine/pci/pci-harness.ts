import { Bus, type BusDevice } from '../../../engine/src/bus';
import { PCI_ECAM_START, PCI_ECAM_SIZE } from '../../../engine/src/platform/layout';
import { PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_IO_LEN, PciConfigIo, PciEcam, PciRoot } from '../../../engine/src/pci';

/** Collects warnings so tests can check that guest mistakes were logged. */
export class WarnRecorder {
  readonly messages: string[] = [];
  warn(_obj: object, msg: string): void {
    this.messages.push(msg);
  }
}

/** A bus pair with the PCI root, CF8/CFC and ECAM on them, as the VM's platform wires them. */
export function pciPlatform() {
  const logger = new WarnRecorder();
  const pio = new Bus('pio', logger);
  const mmio = new Bus('mmio', logger);
  const root = new PciRoot({ pio, mmio, logger });
  pio.insert(PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_IO_LEN, new PciConfigIo(root, logger), 'pci-config-io');
  mmio.insert(PCI_ECAM_START, PCI_ECAM_SIZE, new PciEcam(root, logger), 'pci-ecam');
  return { logger, pio, mmio, root };
}

/** Config reads and writes as a guest does them through 0xCF8/0xCFC. */
export function cf8(pio: Bus) {
  const address = (device: number, offset: number, bus = 0, fn = 0) => (0x8000_0000 | (bus << 16) | (device << 11) | (fn << 8) | (offset & 0xfc)) >>> 0;
  return {
    read(device: number, offset: number, size: 1 | 2 | 4 = 4, bus = 0): number {
      pio.write(0xcf8, 4, address(device, offset, bus));
      return pio.read(0xcfc + (offset & 3), size);
    },
    write(device: number, offset: number, size: 1 | 2 | 4, value: number, bus = 0): void {
      pio.write(0xcf8, 4, address(device, offset, bus));
      pio.write(0xcfc + (offset & 3), size, value);
    },
  };
}

/** Config reads and writes through ECAM. */
export function ecam(mmio: Bus) {
  const at = (device: number, offset: number, bus = 0, fn = 0) => PCI_ECAM_START + (bus << 20) + (device << 15) + (fn << 12) + offset;
  return {
    read: (device: number, offset: number, size: 1 | 2 | 4 = 4, bus = 0, fn = 0) => mmio.read(at(device, offset, bus, fn), size),
    write: (device: number, offset: number, size: 1 | 2 | 4, value: number, bus = 0) => mmio.write(at(device, offset, bus), size, value),
  };
}

/** A BAR's register-level device that remembers writes and answers reads with offset + tag. */
export class ScratchRegion implements BusDevice {
  readonly writes: string[] = [];
  constructor(private readonly tag: number) {}
  read(offset: number): number {
    return this.tag + offset;
  }
  write(offset: number, size: number, value: number): void {
    this.writes.push(`${offset}/${size}=${value.toString(16)}`);
  }
}
