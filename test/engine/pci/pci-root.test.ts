import { describe, expect, it } from 'vitest';
import {
  HOST_BRIDGE_DEVICE_ID,
  HOST_BRIDGE_VENDOR_ID,
  PCI_BAR0,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PciConfigSpace,
  intxGsi,
  type PciFunction,
} from '../../../engine/src/pci';
import { PCI_MMIO32_START } from '../../../engine/src/platform/layout';
import { cf8, ecam, pciPlatform, ScratchRegion } from './pci-harness';

/** A function with a 64-bit memory BAR 0 (16 KiB), a 32-bit BAR 2 (4 KiB), an I/O BAR 3 (32 ports) and one capability. */
function testFunction(): PciFunction & { regions: ScratchRegion[] } {
  const config = new PciConfigSpace({ vendorId: 0x1234, deviceId: 0x5678, revision: 2, classCode: 0x0100_00, interruptPin: 1 });
  config.defineBar({ index: 0, kind: 'mem64', size: 0x4000 });
  config.defineBar({ index: 2, kind: 'mem32', size: 0x1000 });
  config.defineBar({ index: 3, kind: 'io', size: 0x20 });
  const cap = config.addCapability(0x09, 8);
  config.setU32(cap + 4, 0xcafe);
  const regions = [new ScratchRegion(0x100), new ScratchRegion(0x200), new ScratchRegion(0x300)];
  return { name: 'test', config, barRegions: [0, 2, 3].map((index, i) => ({ index, device: regions[i]! })), regions };
}

describe('PCI bus 0 through config mechanism #1', () => {
  it('shows the host bridge at 00:00.0 and all-ones for empty slots, other buses and a clear enable bit', () => {
    const { pio } = pciPlatform();
    const cfg = cf8(pio);
    expect(cfg.read(0, 0)).toBe(((HOST_BRIDGE_DEVICE_ID << 16) | HOST_BRIDGE_VENDOR_ID) >>> 0);
    expect(cfg.read(0, 0x08) >>> 8).toBe(0x06_00_00); // class: host bridge
    expect(cfg.read(5, 0)).toBe(0xffff_ffff);
    expect(cfg.read(0, 0, 4, 1)).toBe(0xffff_ffff);
    pio.write(0xcf8, 4, 0); // enable bit clear
    expect(pio.read(0xcfc, 4)).toBe(0xffff_ffff);
    // CONFIG_ADDRESS reads back what was written, low two bits and reserved bits dropped.
    pio.write(0xcf8, 4, 0x8000_1803);
    expect(pio.read(0xcf8, 4)).toBe(0x8000_1800);
  });

  it('serves byte and word accesses at 0xCFC + n, and refuses ones running past 0xCFF', () => {
    const { pio, root } = pciPlatform();
    root.attach(testFunction(), 3);
    const cfg = cf8(pio);
    expect(cfg.read(3, 0, 2)).toBe(0x1234);
    expect(cfg.read(3, 2, 2)).toBe(0x5678);
    expect(cfg.read(3, 1, 1)).toBe(0x12);
    expect(cfg.read(3, 0x08, 1)).toBe(2); // revision
    pio.write(0xcf8, 4, 0x8000_1800);
    expect(pio.read(0xcfe, 4)).toBe(0xffff_ffff);
  });

  it('comes up with BARs assigned in the window, decode and bus mastering on, the pin routed to its GSI', () => {
    const { pio, mmio, root } = pciPlatform();
    const fn = testFunction();
    const { device } = root.attach(fn);
    expect(device).toBe(1);
    const cfg = cf8(pio);
    const bar0 = cfg.read(device, PCI_BAR0);
    expect(bar0 & 0xf).toBe(0x4); // 64-bit, not prefetchable
    expect((bar0 & ~0xf) >>> 0).toBe(PCI_MMIO32_START);
    expect(cfg.read(device, PCI_BAR0 + 4)).toBe(0);
    expect(cfg.read(device, PCI_COMMAND, 2) & 0x7).toBe(0x7);
    expect(cfg.read(device, PCI_INTERRUPT_PIN, 1)).toBe(1);
    expect(cfg.read(device, PCI_INTERRUPT_LINE, 1)).toBe(intxGsi(1, 1));
    // The BAR decodes: accesses reach the region with offsets from its start.
    expect(mmio.read(PCI_MMIO32_START + 0x10, 4)).toBe(0x110);
    const io = cfg.read(device, PCI_BAR0 + 12);
    expect(io & 1).toBe(1);
    expect(pio.read((io & ~3) + 4, 1)).toBe(0x304);
  });

  it('sizes BARs by all-ones writes, as drivers do, and restores them', () => {
    const { pio, root, mmio } = pciPlatform();
    const { device } = root.attach(testFunction());
    const cfg = cf8(pio);
    const original = cfg.read(device, PCI_BAR0 + 8);
    cfg.write(device, PCI_BAR0 + 8, 4, 0xffff_ffff);
    expect(cfg.read(device, PCI_BAR0 + 8)).toBe(0xffff_f000); // 4 KiB, 32-bit memory
    cfg.write(device, PCI_BAR0, 4, 0xffff_ffff);
    cfg.write(device, PCI_BAR0 + 4, 4, 0xffff_ffff);
    expect(cfg.read(device, PCI_BAR0)).toBe(0xffff_c004); // 16 KiB, 64-bit
    expect(cfg.read(device, PCI_BAR0 + 4)).toBe(0xffff_ffff);
    cfg.write(device, PCI_BAR0 + 12, 4, 0xffff_ffff);
    expect(cfg.read(device, PCI_BAR0 + 12)).toBe(0xffff_ffe1); // 32 ports
    cfg.write(device, PCI_BAR0 + 8, 4, original);
    expect(mmio.read(original + 8, 4)).toBe(0x208);
  });

  it('moves a BAR on the bus when the guest reprograms it, and stops decoding when COMMAND says so', () => {
    const { pio, mmio, root } = pciPlatform();
    const { device } = root.attach(testFunction());
    const cfg = cf8(pio);
    const old = (cfg.read(device, PCI_BAR0 + 8) & ~0xf) >>> 0;
    const moved = PCI_MMIO32_START + 0x10_0000;
    cfg.write(device, PCI_BAR0 + 8, 4, moved);
    expect(mmio.read(moved + 4, 4)).toBe(0x204);
    expect(mmio.read(old + 4, 4)).toBe(0xffff_ffff);
    const command = cfg.read(device, PCI_COMMAND, 2);
    cfg.write(device, PCI_COMMAND, 2, command & ~PCI_COMMAND_MEMORY);
    expect(mmio.read(moved + 4, 4)).toBe(0xffff_ffff);
    const io = cfg.read(device, PCI_BAR0 + 12) & ~3;
    expect(pio.read(io, 1)).toBe(0x300); // I/O decode is separate
    cfg.write(device, PCI_COMMAND, 2, command & ~PCI_COMMAND_IO);
    expect(mmio.read(moved + 4, 4)).toBe(0x204);
    expect(pio.read(io, 1)).toBe(0xff);
  });

  it('leaves a BAR programmed over another device unmapped and logs it', () => {
    const { pio, mmio, root, logger } = pciPlatform();
    const a = root.attach(testFunction()).device;
    const b = root.attach(testFunction()).device;
    const cfg = cf8(pio);
    const aBase = (cfg.read(a, PCI_BAR0 + 8) & ~0xf) >>> 0;
    cfg.write(b, PCI_BAR0 + 8, 4, aBase);
    expect(logger.messages.some((m) => /BAR 2 of test left unmapped.*overlaps/.test(m))).toBe(true);
    expect(mmio.read(aBase, 4)).toBe(0x200); // a still answers there
    cfg.write(b, PCI_BAR0 + 8, 4, 0xf000_0000); // beyond the window (the IOAPIC's neighbourhood)
    expect(logger.messages.some((m) => /outside the MMIO window/.test(m))).toBe(true);
    expect(root.barBase(b, 2)).toBeUndefined();
  });

  it('links capabilities from the capabilities pointer, with STATUS.CAP_LIST set', () => {
    const { pio, root } = pciPlatform();
    const { device } = root.attach(testFunction());
    const cfg = cf8(pio);
    expect(cfg.read(device, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST).toBe(PCI_STATUS_CAP_LIST);
    const first = cfg.read(device, PCI_CAPABILITY_LIST, 1);
    expect(first).toBe(0x40);
    expect(cfg.read(device, first, 1)).toBe(0x09);
    expect(cfg.read(device, first + 1, 1)).toBe(0); // end of the list
    expect(cfg.read(device, first + 4)).toBe(0xcafe);
    cfg.write(device, first + 4, 4, 0); // read-only
    expect(cfg.read(device, first + 4)).toBe(0xcafe);
  });
});

describe('PCI ECAM', () => {
  it('shows the same configuration spaces as CF8/CFC, 4 KiB per function, zero past 256 bytes', () => {
    const { pio, mmio, root } = pciPlatform();
    const { device } = root.attach(testFunction());
    const viaEcam = ecam(mmio);
    const viaCf8 = cf8(pio);
    for (let offset = 0; offset < 0x40; offset += 4) expect(viaEcam.read(device, offset)).toBe(viaCf8.read(device, offset));
    expect(viaEcam.read(device, 0x100)).toBe(0);
    expect(viaEcam.read(device, 0, 4, 0, 1)).toBe(0xffff_ffff); // function 1 absent
    expect(viaEcam.read(9, 0)).toBe(0xffff_ffff);
    viaEcam.write(device, PCI_BAR0 + 8, 4, PCI_MMIO32_START + 0x20_0000);
    expect(viaCf8.read(device, PCI_BAR0 + 8)).toBe(PCI_MMIO32_START + 0x20_0000);
    expect(mmio.read(PCI_MMIO32_START + 0x20_0000, 4)).toBe(0x200);
  });

  it('refuses misaligned accesses (reads all-ones, logged)', () => {
    const { mmio, root, logger } = pciPlatform();
    const { device } = root.attach(testFunction());
    expect(ecam(mmio).read(device, 1, 2)).toBe(0xffff);
    expect(logger.messages.some((m) => m.startsWith('pci-ecam'))).toBe(true);
  });
});

describe('PCI machine reset', () => {
  it('puts reprogrammed BARs and COMMAND back where firmware-style assignment left them', () => {
    const { pio, mmio, root } = pciPlatform();
    const { device } = root.attach(testFunction());
    const cfg = cf8(pio);
    const assigned = (cfg.read(device, PCI_BAR0 + 8) & ~0xf) >>> 0;
    cfg.write(device, PCI_BAR0 + 8, 4, PCI_MMIO32_START + 0x40_0000);
    cfg.write(device, PCI_COMMAND, 2, 0);
    root.reset();
    expect((cfg.read(device, PCI_BAR0 + 8) & ~0xf) >>> 0).toBe(assigned);
    expect(cfg.read(device, PCI_COMMAND, 2) & 0x7).toBe(0x7);
    expect(mmio.read(assigned, 4)).toBe(0x200);
    expect(mmio.read(PCI_MMIO32_START + 0x40_0000, 4)).toBe(0xffff_ffff);
  });
});
