/**
 * The modern virtio-pci transport driven as a guest driver drives it: capabilities found by walking the list
 * through CF8/CFC, registers reached through the BAR on the MMIO bus, queues in real guest RAM.
 */
import { describe, expect, it } from 'vitest';
import { CountingIrqLine } from '../../../../engine/src/irq';
import { GuestMemoryMap, GuestRam } from '../../../../engine/src/memory';
import { CountingMsiSink, MSIX_CONTROL_ENABLE, PCI_BAR0, PCI_CAPABILITY_LIST } from '../../../../engine/src/pci';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FEATURES_OK,
} from '../../../../engine/src/virtio/constants';
import { commonConfig as cc, VirtioPciTransport } from '../../../../engine/src/virtio/transport';
import type { VirtioActivation, VirtioDevice } from '../../../../engine/src/virtio/virtio-device';
import { cf8, pciPlatform } from '../../pci/pci-harness';

/** A small device: two queues, 8 bytes of config, records what the transport tells it. */
class TestDevice implements VirtioDevice {
  readonly deviceType = 4;
  readonly deviceFeatures = VIRTIO_F_VERSION_1 | (1n << 5n);
  readonly queueMaxSizes = [16, 8];
  readonly events: string[] = [];
  activation: VirtioActivation | undefined;
  private readonly cfg = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.cfg[offset + i] ?? 0);
    return v;
  }
  writeConfig(offset: number, _size: number, value: number): void {
    this.events.push(`config ${offset}=${value}`);
  }
  activate(context: VirtioActivation): void {
    this.activation = context;
    this.events.push('activate');
  }
  notify(queueIndex: number): void {
    this.events.push(`notify ${queueIndex}`);
  }
  reset(): void {
    this.events.push('reset');
  }
}

function setUp() {
  const platform = pciPlatform();
  const ram = new GuestRam(0, 1 << 20);
  const memory = new GuestMemoryMap([ram]);
  const device = new TestDevice();
  const intx = new CountingIrqLine();
  const sink = new CountingMsiSink();
  const notified: number[] = [];
  const transport = new VirtioPciTransport({ device, memory, msiSink: sink, intx, logger: platform.logger, onQueueNotify: (q) => notified.push(q) });
  const { device: slot } = platform.root.attach(transport);
  const cfg = cf8(platform.pio);
  // Walk the capability list for the virtio structures, as a driver does.
  const caps = new Map<number, { offset: number; length: number; at: number }>();
  for (let at = cfg.read(slot, PCI_CAPABILITY_LIST, 1); at !== 0; at = cfg.read(slot, at + 1, 1)) {
    if (cfg.read(slot, at, 1) === 0x09) caps.set(cfg.read(slot, at + 3, 1), { offset: cfg.read(slot, at + 8), length: cfg.read(slot, at + 12), at });
  }
  const bar = ((cfg.read(slot, PCI_BAR0) & ~0xf) >>> 0) + cfg.read(slot, PCI_BAR0 + 4) * 2 ** 32;
  const mmio = platform.mmio;
  const common = caps.get(1)!.offset;
  const reg = {
    read: (offset: number, size: 1 | 2 | 4) => mmio.read(bar + common + offset, size),
    write: (offset: number, size: 1 | 2 | 4, value: number) => mmio.write(bar + common + offset, size, value),
  };
  return { ...platform, device, transport, intx, sink, notified, cfg, slot, caps, bar, reg, memory };
}

/** The virtio 1.2 §3.1.1 sequence up to FEATURES_OK; returns the status read back. */
function negotiate(t: ReturnType<typeof setUp>, accept: bigint): number {
  t.reg.write(cc.DEVICE_STATUS, 1, 0);
  t.reg.write(cc.DEVICE_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
  t.reg.write(cc.DEVICE_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  t.reg.write(cc.DRIVER_FEATURE_SELECT, 4, 0);
  t.reg.write(cc.DRIVER_FEATURE, 4, Number(accept & 0xffff_ffffn));
  t.reg.write(cc.DRIVER_FEATURE_SELECT, 4, 1);
  t.reg.write(cc.DRIVER_FEATURE, 4, Number(accept >> 32n));
  t.reg.write(cc.DEVICE_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
  return t.reg.read(cc.DEVICE_STATUS, 1);
}

function setUpQueue(t: ReturnType<typeof setUp>, index: number, size: number, base: number): void {
  t.reg.write(cc.QUEUE_SELECT, 2, index);
  t.reg.write(cc.QUEUE_SIZE, 2, size);
  t.reg.write(cc.QUEUE_DESC, 4, base);
  t.reg.write(cc.QUEUE_DESC + 4, 4, 0);
  t.reg.write(cc.QUEUE_DRIVER, 4, base + 0x1000);
  t.reg.write(cc.QUEUE_DEVICE, 4, base + 0x2000);
  t.reg.write(cc.QUEUE_ENABLE, 2, 1);
}

describe('virtio-pci transport', () => {
  it('identifies as a modern virtio device with the four structures in one 64-bit BAR', () => {
    const t = setUp();
    expect(t.cfg.read(t.slot, 0)).toBe((0x1044 << 16) | 0x1af4);
    expect(t.cfg.read(t.slot, 0x08) & 0xff).toBe(1); // revision 1: non-transitional
    expect(t.cfg.read(t.slot, 0x08) >>> 8).toBe(0x00ff00);
    expect(t.cfg.read(t.slot, PCI_BAR0) & 0x6).toBe(0x4);
    expect([...t.caps.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(t.cfg.read(t.slot, t.caps.get(2)!.at + 16)).toBe(4); // notify_off_multiplier
    expect(t.bar).toBeGreaterThanOrEqual(0xc000_0000);
  });

  it('negotiates 64-bit features and accepts FEATURES_OK only for an offered subset with VERSION_1', () => {
    const t = setUp();
    t.reg.write(cc.DEVICE_FEATURE_SELECT, 4, 1);
    expect(t.reg.read(cc.DEVICE_FEATURE, 4)).toBe(1); // bit 32
    t.reg.write(cc.DEVICE_FEATURE_SELECT, 4, 0);
    expect(t.reg.read(cc.DEVICE_FEATURE, 4)).toBe(1 << 5);
    expect(negotiate(t, 1n << 5n) & VIRTIO_STATUS_FEATURES_OK).toBe(0); // no VERSION_1
    expect(negotiate(t, VIRTIO_F_VERSION_1 | (1n << 6n)) & VIRTIO_STATUS_FEATURES_OK).toBe(0); // not offered
    expect(negotiate(t, VIRTIO_F_VERSION_1 | (1n << 5n)) & VIRTIO_STATUS_FEATURES_OK).toBe(VIRTIO_STATUS_FEATURES_OK);
    expect(t.logger.messages.some((m) => /does not offer/.test(m))).toBe(true);
  });

  it('activates the device on DRIVER_OK with the queues the driver placed, and routes notifies', () => {
    const t = setUp();
    negotiate(t, VIRTIO_F_VERSION_1);
    t.reg.write(cc.QUEUE_SELECT, 2, 0);
    expect(t.reg.read(cc.QUEUE_SIZE, 2)).toBe(16);
    expect(t.reg.read(cc.NUM_QUEUES, 2)).toBe(2);
    setUpQueue(t, 0, 8, 0x10000);
    t.reg.write(cc.QUEUE_SELECT, 2, 1);
    const notifyOff = t.reg.read(cc.QUEUE_NOTIFY_OFF, 2);
    t.reg.write(cc.DEVICE_STATUS, 1, 0x0f);
    expect(t.device.events).toEqual(['activate']);
    const queues = t.device.activation!.queues;
    expect(queues[0]!.layout).toEqual({ size: 8, descTable: 0x10000, availRing: 0x11000, usedRing: 0x12000 });
    expect(queues[0]!.broken).toBe(false);
    expect(queues[1]).toBeUndefined(); // not enabled
    expect(t.device.activation!.features).toBe(VIRTIO_F_VERSION_1);
    const notify = t.bar + t.caps.get(2)!.offset;
    t.mmio.write(notify + 0 * 4, 2, 0);
    t.mmio.write(notify + notifyOff * 4, 2, 1); // queue 1 is not enabled: the device is not bothered
    expect(t.device.events).toEqual(['activate', 'notify 0']);
    expect(t.notified).toEqual([0, 1]);
  });

  it('refuses DRIVER_OK without FEATURES_OK and never lets status bits be cleared except by reset', () => {
    const t = setUp();
    t.reg.write(cc.DEVICE_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    expect(t.reg.read(cc.DEVICE_STATUS, 1)).toBe(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    expect(t.device.events).toEqual([]);
    t.reg.write(cc.DEVICE_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    expect(t.reg.read(cc.DEVICE_STATUS, 1)).toBe(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
  });

  it('resets on status 0: the device forgets its queues and the registers return to their defaults', () => {
    const t = setUp();
    negotiate(t, VIRTIO_F_VERSION_1);
    setUpQueue(t, 0, 4, 0x10000);
    t.reg.write(cc.DEVICE_STATUS, 1, 0x0f);
    t.reg.write(cc.DEVICE_STATUS, 1, 0);
    expect(t.device.events).toEqual(['activate', 'reset']);
    expect(t.reg.read(cc.DEVICE_STATUS, 1)).toBe(0);
    t.reg.write(cc.QUEUE_SELECT, 2, 0);
    expect(t.reg.read(cc.QUEUE_SIZE, 2)).toBe(16);
    expect(t.reg.read(cc.QUEUE_ENABLE, 2)).toBe(0);
    expect(t.reg.read(cc.QUEUE_DESC, 4)).toBe(0);
  });

  it('interrupts through ISR and INTx without MSI-X; reading ISR clears it and lowers the line', () => {
    const t = setUp();
    negotiate(t, VIRTIO_F_VERSION_1);
    setUpQueue(t, 0, 4, 0x10000);
    t.reg.write(cc.DEVICE_STATUS, 1, 0x0f);
    t.device.activation!.interrupt.signalUsed(0);
    expect(t.intx.high).toBe(true);
    expect(t.cfg.read(t.slot, 0x06, 2) & 0x8).toBe(0x8); // STATUS.INTERRUPT
    const isr = t.bar + t.caps.get(3)!.offset;
    expect(t.mmio.read(isr, 1)).toBe(1);
    expect(t.intx.high).toBe(false);
    expect(t.cfg.read(t.slot, 0x06, 2) & 0x8).toBe(0);
    expect(t.mmio.read(isr, 1)).toBe(0);
    const generation = t.reg.read(cc.CONFIG_GENERATION, 1);
    t.device.activation!.interrupt.signalConfig();
    expect(t.mmio.read(isr, 1)).toBe(2);
    expect(t.reg.read(cc.CONFIG_GENERATION, 1)).toBe((generation + 1) & 0xff);
  });

  it('sends MSI-X messages to the sink once the driver enables MSI-X and maps vectors', () => {
    const t = setUp();
    const msixCap = t.transport.msix.capOffset;
    negotiate(t, VIRTIO_F_VERSION_1);
    setUpQueue(t, 0, 4, 0x10000);
    t.reg.write(cc.QUEUE_SELECT, 2, 0);
    t.reg.write(cc.QUEUE_MSIX_VECTOR, 2, 1);
    expect(t.reg.read(cc.QUEUE_MSIX_VECTOR, 2)).toBe(1);
    t.reg.write(cc.CONFIG_MSIX_VECTOR, 2, 99); // beyond the table: NO_VECTOR reads back
    expect(t.reg.read(cc.CONFIG_MSIX_VECTOR, 2)).toBe(0xffff);
    const table = t.bar + 0x4000; // the table's BAR offset from the capability
    expect(t.cfg.read(t.slot, msixCap + 4)).toBe(0x4000);
    t.mmio.write(table + 16, 4, 0xfee0_0000);
    t.mmio.write(table + 16 + 8, 4, 0x41);
    t.mmio.write(table + 16 + 12, 4, 0);
    t.cfg.write(t.slot, msixCap + 2, 2, MSIX_CONTROL_ENABLE);
    t.reg.write(cc.DEVICE_STATUS, 1, 0x0f);
    t.device.activation!.interrupt.signalUsed(0);
    expect(t.sink.delivered).toBe(1);
    expect(t.intx.rises).toBe(0);
  });

  it('the PCI_CFG capability reaches the BAR through config space alone', () => {
    const t = setUp();
    const cap = t.caps.get(5)!.at;
    const window = (offset: number, length: number) => {
      t.cfg.write(t.slot, cap + 4, 1, 0); // bar
      t.cfg.write(t.slot, cap + 8, 4, offset);
      t.cfg.write(t.slot, cap + 12, 4, length);
    };
    window(t.caps.get(1)!.offset + cc.NUM_QUEUES, 2);
    expect(t.cfg.read(t.slot, cap + 16, 4) & 0xffff).toBe(2);
    window(t.caps.get(1)!.offset + cc.DEVICE_STATUS, 1);
    t.cfg.write(t.slot, cap + 16, 4, VIRTIO_STATUS_ACKNOWLEDGE);
    expect(t.reg.read(cc.DEVICE_STATUS, 1)).toBe(VIRTIO_STATUS_ACKNOWLEDGE);
    window(3, 4); // misaligned: refused, logged
    t.cfg.read(t.slot, cap + 16, 4);
    expect(t.logger.messages.some((m) => /PCI_CFG window/.test(m))).toBe(true);
  });

  it('a queue placed outside guest RAM sets DEVICE_NEEDS_RESET and raises a configuration interrupt', () => {
    const t = setUp();
    negotiate(t, VIRTIO_F_VERSION_1);
    setUpQueue(t, 0, 8, 0x7fff_0000); // far beyond the 1 MiB of RAM
    t.reg.write(cc.DEVICE_STATUS, 1, 0x0f);
    expect(t.device.activation!.queues[0]!.broken).toBe(true);
    expect(t.reg.read(cc.DEVICE_STATUS, 1) & 0x40).toBe(0x40);
    expect(t.mmio.read(t.bar + t.caps.get(3)!.offset, 1)).toBe(2);
    t.reg.write(cc.DEVICE_STATUS, 1, 0); // the driver's way out: reset
    expect(t.reg.read(cc.DEVICE_STATUS, 1)).toBe(0);
  });

  it('passes the device configuration through, and survives writes to read-only registers', () => {
    const t = setUp();
    const device = t.bar + t.caps.get(4)!.offset;
    expect(t.mmio.read(device, 4)).toBe(0x04030201);
    expect(t.mmio.read(device + 6, 2)).toBe(0x0807);
    t.mmio.write(device + 2, 1, 9);
    expect(t.device.events).toEqual(['config 2=9']);
    t.reg.write(cc.NUM_QUEUES, 2, 7);
    expect(t.reg.read(cc.NUM_QUEUES, 2)).toBe(2);
    t.reg.write(cc.QUEUE_SELECT, 2, 5);
    expect(t.reg.read(cc.QUEUE_SIZE, 2)).toBe(0);
    t.reg.write(cc.QUEUE_SIZE, 2, 4);
    expect(t.logger.messages.some((m) => /queue that does not exist/.test(m))).toBe(true);
  });
});
