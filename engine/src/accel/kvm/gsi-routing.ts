/**
 * The KVM GSI routing table (KVM_SET_GSI_ROUTING replaces it whole). Steps:
 *   1. the legacy routes KVM_CREATE_IRQCHIP installs, which must be kept: GSIs 0-15 to both the PIC pair and the
 *      IOAPIC, GSIs 16-23 to the IOAPIC only;
 *   2. one MSI route per unmasked MSI-X vector, on a GSI of its own from LEGACY_GSI_COUNT up: the irqfd bound to
 *      that GSI then delivers the guest's message without leaving the kernel.
 * MSI-X messages are guest-written: a message that is not an xAPIC interrupt (address outside 0xFEEx_xxxx or with
 * high bits) is left out and reported, never handed to KVM.
 */
import {
  KVM_IRQ_ROUTING_ENTRY,
  KVM_IRQ_ROUTING_ENTRY_SIZE,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_MAX_IRQ_ROUTES,
} from './kvm-abi';

/** IOAPIC pins, so GSIs 0-23 are legacy and MSI GSIs start at 24. */
export const LEGACY_GSI_COUNT = 24;
/** GSIs wired to the 8259 pair too (8 pins each). */
export const PIC_GSI_COUNT = 16;
/** Pins per 8259. */
const PIC_PINS = 8;
/** x86 MSI address window: bits 31:20 must be 0xFEE. */
export const MSI_ADDRESS_BASE = 0xfee0_0000;
/** Mask of the fixed part of an MSI address. */
export const MSI_ADDRESS_MASK = 0xfff0_0000;

export type IrqRoute =
  | { gsi: number; kind: 'irqchip'; irqchip: number; pin: number }
  | { gsi: number; kind: 'msi'; addressLo: number; addressHi: number; data: number };

/** One MSI-X table entry as the guest programmed it. */
export interface MsiMessage {
  address: number;
  data: number;
  /** Vector control bit 0: masked vectors get no route. */
  masked: boolean;
}

export interface MsiRouteRequest {
  gsi: number;
  message: MsiMessage;
}

export interface GsiRouting {
  routes: IrqRoute[];
  /** Requests left out, with why (log them: a guest mistake, not a host failure). */
  rejected: { gsi: number; reason: string }[];
}

/** Step 1. */
export function legacyIrqRoutes(): IrqRoute[] {
  const routes: IrqRoute[] = [];
  for (let gsi = 0; gsi < LEGACY_GSI_COUNT; gsi++) {
    if (gsi < PIC_GSI_COUNT) {
      const irqchip = gsi < PIC_PINS ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
      routes.push({ gsi, kind: 'irqchip', irqchip, pin: gsi % PIC_PINS });
    }
    routes.push({ gsi, kind: 'irqchip', irqchip: KVM_IRQCHIP_IOAPIC, pin: gsi });
  }
  return routes;
}

/** Why KVM must not get this message, or undefined when it is an xAPIC interrupt message. */
export function msiProblem(message: MsiMessage): string | undefined {
  const { address, data } = message;
  if (!Number.isSafeInteger(address) || address < 0) return `address ${address} is not an address`;
  if (address > 0xffff_ffff) return `address 0x${address.toString(16)} has high bits (no extended destination ids)`;
  if ((address & MSI_ADDRESS_MASK) >>> 0 !== MSI_ADDRESS_BASE) return `address 0x${address.toString(16)} is not in the 0xFEEx_xxxx interrupt window`;
  if (!Number.isInteger(data) || data < 0 || data > 0xffff_ffff) return `data ${data} is not a u32`;
  return undefined;
}

/** Steps 1 and 2. */
export function buildGsiRouting(msi: readonly MsiRouteRequest[]): GsiRouting {
  const routes = legacyIrqRoutes();
  const rejected: GsiRouting['rejected'] = [];
  const used = new Set<number>();
  for (const { gsi, message } of msi) {
    if (!Number.isInteger(gsi) || gsi < LEGACY_GSI_COUNT || gsi >= KVM_MAX_IRQ_ROUTES) {
      rejected.push({ gsi, reason: `GSI ${gsi} is not in ${LEGACY_GSI_COUNT}..${KVM_MAX_IRQ_ROUTES - 1}` });
      continue;
    }
    if (used.has(gsi)) {
      rejected.push({ gsi, reason: `GSI ${gsi} is routed twice` });
      continue;
    }
    if (message.masked) continue;
    const problem = msiProblem(message);
    if (problem !== undefined) {
      rejected.push({ gsi, reason: problem });
      continue;
    }
    used.add(gsi);
    routes.push({ gsi, kind: 'msi', addressLo: message.address, addressHi: 0, data: message.data });
  }
  if (routes.length > KVM_MAX_IRQ_ROUTES) throw new RangeError(`${routes.length} GSI routes, KVM takes at most ${KVM_MAX_IRQ_ROUTES}`);
  return { routes, rejected };
}

/** kvm_irq_routing_entry bytes (48 each) for KVM_SET_GSI_ROUTING. */
export function encodeGsiRouting(routes: readonly IrqRoute[]): Uint8Array {
  const bytes = new Uint8Array(routes.length * KVM_IRQ_ROUTING_ENTRY_SIZE);
  const v = new DataView(bytes.buffer);
  routes.forEach((route, i) => {
    const at = i * KVM_IRQ_ROUTING_ENTRY_SIZE;
    v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.gsi, route.gsi, true);
    if (route.kind === 'irqchip') {
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.type, KVM_IRQ_ROUTING_IRQCHIP, true);
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.irqchipIrqchip, route.irqchip, true);
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.irqchipPin, route.pin, true);
    } else {
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.type, KVM_IRQ_ROUTING_MSI, true);
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.msiAddressLo, route.addressLo, true);
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.msiAddressHi, route.addressHi, true);
      v.setUint32(at + KVM_IRQ_ROUTING_ENTRY.msiData, route.data, true);
    }
  });
  return bytes;
}
