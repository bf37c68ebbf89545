/**
 * MSI delivery through irqfds: each distinct message gets a GSI with an MSI route and an eventfd bound to it, and
 * delivery writes that eventfd. The eventfds are real (the addon's EventFd); the VM fd is a recorder standing in for
 * KVM_SET_GSI_ROUTING / KVM_IRQFD, which need /dev/kvm (absent here; the KVM tests cover the ioctls where it opens).
 */
import { describe, expect, it } from 'vitest';
import { LEGACY_GSI_COUNT } from '../../../../engine/src/accel/kvm/gsi-routing';
import { KVM_IRQ_ROUTING_ENTRY, KVM_IRQ_ROUTING_ENTRY_SIZE, KVM_IRQ_ROUTING_MSI, KVM_IRQFD_FLAG_DEASSIGN } from '../../../../engine/src/accel/kvm/kvm-abi';
import { KvmMsiRoutes } from '../../../../engine/src/accel/kvm/kvm-msi-routes';
import { native } from '../../../../engine/src/native';
import type { NativeEventFd } from '../../../../engine/src/native/addon';

/** The MSI routes (gsi → address/data) of an encoded routing table. */
function msiRoutes(table: Uint8Array): Map<number, { address: number; data: number }> {
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const out = new Map<number, { address: number; data: number }>();
  for (let at = 0; at < table.byteLength; at += KVM_IRQ_ROUTING_ENTRY_SIZE) {
    if (v.getUint32(at + KVM_IRQ_ROUTING_ENTRY.type, true) !== KVM_IRQ_ROUTING_MSI) continue;
    out.set(v.getUint32(at + KVM_IRQ_ROUTING_ENTRY.gsi, true), {
      address: v.getUint32(at + KVM_IRQ_ROUTING_ENTRY.msiAddressLo, true),
      data: v.getUint32(at + KVM_IRQ_ROUTING_ENTRY.msiData, true),
    });
  }
  return out;
}

function setUp(maxRoutes?: number) {
  const tables: Uint8Array[] = [];
  /** fd → gsi of the irqfds bound now, as KVM would hold them. */
  const bound = new Map<number, number>();
  const eventfds: NativeEventFd[] = [];
  const vm = {
    setGsiRouting: (entries: Uint8Array) => void tables.push(Uint8Array.from(entries)),
    irqfd: (fd: number, gsi: number, flags: number) => {
      if (flags & KVM_IRQFD_FLAG_DEASSIGN) bound.delete(fd);
      else bound.set(fd, gsi);
    },
  };
  const warnings: string[] = [];
  const routes = new KvmMsiRoutes(
    vm,
    () => {
      const fd = new native.EventFd();
      eventfds.push(fd);
      return fd;
    },
    { warn: (_obj, msg) => warnings.push(msg) },
    maxRoutes,
  );
  /** Signals seen per GSI since the last call: the eventfd counters KVM would consume. */
  const signals = () => {
    const out: Record<number, number> = {};
    for (const e of eventfds) {
      const gsi = bound.get(e.fd);
      const n = gsi === undefined ? 0 : e.read();
      if (n > 0) out[gsi!] = n;
    }
    return out;
  };
  return { routes, tables, bound, eventfds, warnings, signals };
}

describe('KvmMsiRoutes', () => {
  it('routes a new message on the first free MSI GSI and delivers it by writing the bound eventfd', () => {
    const t = setUp();
    t.routes.deliver(0xfee0_0000, 0, 0x4021);
    expect(t.tables).toHaveLength(1);
    expect(msiRoutes(t.tables[0])).toEqual(new Map([[LEGACY_GSI_COUNT, { address: 0xfee0_0000, data: 0x4021 }]]));
    expect(t.signals()).toEqual({ [LEGACY_GSI_COUNT]: 1 });
  });

  it('reuses the route of a message seen before: no new table, only eventfd writes', () => {
    const t = setUp();
    t.routes.deliver(0xfee0_0000, 0, 0x21);
    t.routes.deliver(0xfee0_1000, 0, 0x22);
    t.routes.deliver(0xfee0_0000, 0, 0x21);
    t.routes.deliver(0xfee0_0000, 0, 0x21);
    expect(t.tables).toHaveLength(2);
    expect(msiRoutes(t.tables[1]).size).toBe(2);
    expect(t.signals()).toEqual({ 24: 3, 25: 1 });
  });

  it('keeps the legacy PIC/IOAPIC routes in every table it installs', () => {
    const t = setUp();
    t.routes.deliver(0xfee0_0000, 0, 0x21);
    expect(t.tables[0].byteLength / KVM_IRQ_ROUTING_ENTRY_SIZE).toBe(16 * 2 + 8 + 1);
  });

  it('when full, gives the least recently used route’s GSI to the new message and unbinds its eventfd', () => {
    const t = setUp(2);
    t.routes.deliver(0xfee0_0000, 0, 0x21); // GSI 24
    t.routes.deliver(0xfee0_0000, 0, 0x22); // GSI 25
    t.routes.deliver(0xfee0_0000, 0, 0x21); // 0x21 used again: 0x22 is now the oldest
    t.signals();
    t.routes.deliver(0xfee0_0000, 0, 0x23); // takes GSI 25
    expect(msiRoutes(t.tables.at(-1)!)).toEqual(
      new Map([
        [24, { address: 0xfee0_0000, data: 0x21 }],
        [25, { address: 0xfee0_0000, data: 0x23 }],
      ]),
    );
    expect(t.bound.size).toBe(2);
    expect(t.signals()).toEqual({ 25: 1 });
    expect(t.routes.gsis).toEqual([24, 25]);
  });

  it('drops and logs messages KVM must not get (outside the xAPIC window, high address bits)', () => {
    const t = setUp();
    t.routes.deliver(0x1234_0000, 0, 0x21);
    t.routes.deliver(0xfee0_0000, 1, 0x21);
    expect(t.tables).toHaveLength(0);
    expect(t.routes.dropped).toBe(2);
    expect(t.warnings).toEqual(['guest MSI message dropped', 'guest MSI message dropped']);
  });

  it('close() unbinds every irqfd', () => {
    const t = setUp();
    t.routes.deliver(0xfee0_0000, 0, 0x21);
    t.routes.deliver(0xfee0_0000, 0, 0x22);
    t.routes.close();
    expect(t.bound.size).toBe(0);
  });
});
