/**
 * The GSI routing table KVM_SET_GSI_ROUTING receives: the legacy PIC/IOAPIC routes kept (it replaces the whole
 * table), one MSI route per unmasked, well-formed MSI-X vector, and guest mistakes reported instead of passed on.
 */
import { describe, expect, it } from 'vitest';
import { buildGsiRouting, encodeGsiRouting, legacyIrqRoutes } from '../../../../engine/src/accel/kvm/gsi-routing';
import { KVM_IRQ_ROUTING_ENTRY_SIZE, KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQ_ROUTING_MSI } from '../../../../engine/src/accel/kvm/kvm-abi';

const message = (address: number, data: number, masked = false) => ({ address, data, masked });

describe('GSI routing', () => {
  it('keeps the routes KVM_CREATE_IRQCHIP installs: GSI 0-15 to a PIC and the IOAPIC, 16-23 to the IOAPIC', () => {
    const routes = legacyIrqRoutes();
    expect(routes).toHaveLength(16 * 2 + 8);
    expect(routes.filter((r) => r.gsi === 4)).toEqual([
      { gsi: 4, kind: 'irqchip', irqchip: 0, pin: 4 },
      { gsi: 4, kind: 'irqchip', irqchip: 2, pin: 4 },
    ]);
    expect(routes.filter((r) => r.gsi === 12)).toEqual([
      { gsi: 12, kind: 'irqchip', irqchip: 1, pin: 4 },
      { gsi: 12, kind: 'irqchip', irqchip: 2, pin: 12 },
    ]);
    expect(routes.filter((r) => r.gsi === 20)).toEqual([{ gsi: 20, kind: 'irqchip', irqchip: 2, pin: 20 }]);
  });

  it('adds one MSI route per unmasked vector and skips masked ones', () => {
    const { routes, rejected } = buildGsiRouting([
      { gsi: 24, message: message(0xfee0_0000, 0x4021) },
      { gsi: 25, message: message(0xfee0_1000, 0x22, true) },
      { gsi: 26, message: message(0xfee0_3000, 0x23) },
    ]);
    expect(rejected).toEqual([]);
    expect(routes.filter((r) => r.kind === 'msi')).toEqual([
      { gsi: 24, kind: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x4021 },
      { gsi: 26, kind: 'msi', addressLo: 0xfee0_3000, addressHi: 0, data: 0x23 },
    ]);
  });

  it('reports guest-written messages that are not interrupts, and GSIs that collide or are legacy', () => {
    const { routes, rejected } = buildGsiRouting([
      { gsi: 24, message: message(0x1000, 1) },
      { gsi: 25, message: message(0x1_fee0_0000, 1) },
      { gsi: 4, message: message(0xfee0_0000, 1) },
      { gsi: 30, message: message(0xfee0_0000, 1) },
      { gsi: 30, message: message(0xfee0_0000, 2) },
      { gsi: 4096, message: message(0xfee0_0000, 1) },
    ]);
    expect(routes.filter((r) => r.kind === 'msi').map((r) => r.gsi)).toEqual([30]);
    expect(rejected.map((r) => r.gsi)).toEqual([24, 25, 4, 30, 4096]);
    expect(rejected[0].reason).toMatch(/0xFEEx_xxxx/);
    expect(rejected[3].reason).toMatch(/twice/);
  });

  it('encodes 48-byte kvm_irq_routing_entry with the irqchip or msi union at offset 16', () => {
    const bytes = encodeGsiRouting([
      { gsi: 4, kind: 'irqchip', irqchip: 2, pin: 4 },
      { gsi: 24, kind: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x4021 },
    ]);
    expect(bytes.byteLength).toBe(2 * KVM_IRQ_ROUTING_ENTRY_SIZE);
    const v = new DataView(bytes.buffer);
    expect([0, 4, 8, 16, 20].map((o) => v.getUint32(o, true))).toEqual([4, KVM_IRQ_ROUTING_IRQCHIP, 0, 2, 4]);
    const at = KVM_IRQ_ROUTING_ENTRY_SIZE;
    expect([0, 4, 16, 20, 24].map((o) => v.getUint32(at + o, true))).toEqual([24, KVM_IRQ_ROUTING_MSI, 0xfee0_0000, 0, 0x4021]);
  });
});
