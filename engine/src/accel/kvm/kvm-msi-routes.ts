/**
 * MSI delivery on KVM through irqfds (as Firecracker and Cloud Hypervisor deliver virtio interrupts): each distinct
 * message the guest programmed gets a GSI with an MSI route and an eventfd bound to it, so delivering it is one
 * eventfd write and the kernel injects the interrupt. Steps of deliver():
 *   1. a message seen before: write its eventfd;
 *   2. a new one: take a free GSI (or the least recently used route's, unbinding its irqfd), rebuild the routing
 *      table with it (KVM_SET_GSI_ROUTING replaces the table whole), bind a new eventfd to the GSI, then step 1;
 *   3. a message KVM must not get (outside the xAPIC window, high address bits) is dropped and logged.
 * Routes are made on first use, so MSI-X table writes need no hook and a reprogrammed vector simply gets a new route.
 */
import type { WarnLogger } from '../../bus';
import type { NativeEventFd, NativeVmFd } from '../../native/addon';
import type { MsiSink } from '../../pci/msi-sink';
import { buildGsiRouting, encodeGsiRouting, LEGACY_GSI_COUNT, msiProblem } from './gsi-routing';
import { KVM_IRQFD_FLAG_DEASSIGN } from './kvm-abi';

/** Routes kept at once: every vector of 31 virtio devices with a few queues each, far below KVM's table limit. */
export const MAX_MSI_ROUTES = 256;
/** Dropped messages logged one by one before only the count goes on. */
const LOGGED_DROPS = 4;

type RoutingVm = Pick<NativeVmFd, 'setGsiRouting' | 'irqfd'>;

interface Route {
  gsi: number;
  address: number;
  data: number;
  trigger: NativeEventFd;
}

export class KvmMsiRoutes implements MsiSink {
  /** By message key, least recently used first (a Map keeps insertion order; a hit moves its route to the end). */
  private readonly routes = new Map<string, Route>();
  private nextGsi = LEGACY_GSI_COUNT;
  /** Messages dropped (step 3). */
  dropped = 0;

  constructor(
    private readonly vm: RoutingVm,
    private readonly newEventFd: () => NativeEventFd,
    private readonly logger?: WarnLogger,
    private readonly maxRoutes = MAX_MSI_ROUTES,
  ) {}

  deliver(addressLow: number, addressHigh: number, data: number): void {
    const address = addressHigh * 0x1_0000_0000 + (addressLow >>> 0);
    const key = `${address}:${data >>> 0}`;
    let route = this.routes.get(key);
    if (route) {
      this.routes.delete(key);
      this.routes.set(key, route);
    } else {
      route = this.addRoute(key, address, data >>> 0);
      if (!route) return;
    }
    route.trigger.write(1);
  }

  /** The GSIs routed now, in least-recently-used order (for tests and logs). */
  get gsis(): number[] {
    return [...this.routes.values()].map((r) => r.gsi);
  }

  close(): void {
    for (const route of this.routes.values()) this.unbind(route);
    this.routes.clear();
  }

  private addRoute(key: string, address: number, data: number): Route | undefined {
    const problem = msiProblem({ address, data, masked: false });
    if (problem !== undefined) {
      this.drop(address, data, problem);
      return undefined;
    }
    let gsi = this.nextGsi;
    if (this.routes.size < this.maxRoutes) {
      this.nextGsi++;
    } else {
      const [oldestKey, oldest] = this.routes.entries().next().value as [string, Route];
      this.routes.delete(oldestKey);
      this.unbind(oldest);
      gsi = oldest.gsi;
    }
    const requests = [...this.routes.values(), { gsi, address, data }].map((r) => ({ gsi: r.gsi, message: { address: r.address, data: r.data, masked: false } }));
    this.vm.setGsiRouting(encodeGsiRouting(buildGsiRouting(requests).routes));
    const trigger = this.newEventFd();
    try {
      this.vm.irqfd(trigger.fd, gsi, 0);
    } catch (err) {
      trigger.close();
      throw err;
    }
    const route = { gsi, address, data, trigger };
    this.routes.set(key, route);
    return route;
  }

  private unbind(route: Route): void {
    this.vm.irqfd(route.trigger.fd, route.gsi, KVM_IRQFD_FLAG_DEASSIGN);
    route.trigger.close();
  }

  private drop(address: number, data: number, reason: string): void {
    this.dropped++;
    if (this.dropped <= LOGGED_DROPS) this.logger?.warn({ address: `0x${address.toString(16)}`, data, reason }, 'guest MSI message dropped');
  }
}
