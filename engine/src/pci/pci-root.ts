/**
 * PCI bus 0 with its host bridge: the functions in their slots, their configuration spaces as the guest reaches
 * them (config mechanism #1 and ECAM both end here), and their BARs on the pio/mmio buses.
 *
 * hv has no firmware, so attach() does what firmware would (as Cloud Hypervisor does): BARs get addresses from
 * the windows (naturally aligned), decode is enabled and the interrupt line holds the routed GSI. After each
 * guest write to COMMAND or a BAR, every BAR of the function is re-evaluated: it decodes at its programmed
 * address when its decode bit is on, the address is non-zero and the whole BAR lies in its window; a BAR that
 * would overlap another device stays unmapped and the clash is logged (real hardware would decode both and
 * garble the bus; here the first one keeps the range, and the loser is mapped again on its next BAR write). Guests size BARs by writing all-ones,
 * which puts them outside the window: they are unmapped meanwhile, as on real hardware with decode on.
 */
import { allOnes, hex, NULL_LOGGER, type Bus, type WarnLogger } from '../bus';
import type { IrqLine } from '../irq/irq-line';
import {
  PCI_BAR0,
  PCI_BAR_COUNT,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_CONFIG_SPACE_SIZE,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCIE_CONFIG_SPACE_SIZE,
  type PciBarSpec,
} from './pci-config-space';
import type { PciFunction } from './pci-function';
import { PciHostBridge } from './pci-host-bridge';
import { intxGsi } from './pci-intx';
import { PCI_IO_WINDOW, PCI_MMIO32_WINDOW, type PciWindow } from './pci-windows';
import { RateLimitedLog } from './rate-limited-log';

/** Device numbers on a bus (5 bits). */
export const PCI_SLOTS = 32;
/** Function numbers per device (3 bits). */
export const PCI_FUNCTIONS = 8;
/** Slot of the host bridge. */
export const HOST_BRIDGE_SLOT = 0;

/** A bus/device/function address. */
export interface PciAddress {
  bus: number;
  device: number;
  function: number;
}

export interface PciRootOptions {
  pio: Bus;
  mmio: Bus;
  logger?: WarnLogger;
  mmioWindow?: PciWindow;
  /** A function's output onto an INTx GSI (shared lines); functions stay unconnected when omitted. */
  intx?: (gsi: number) => IrqLine;
  ioWindow?: PciWindow;
}

/** Where one BAR decodes now. */
interface Mapping {
  bus: Bus;
  base: number;
}

interface Slot {
  fn: PciFunction;
  /** Current mapping per BAR index. */
  mappings: (Mapping | undefined)[];
  /** What attach() programmed (BAR addresses by index, COMMAND), restored by reset(). */
  assigned: { bars: (number | undefined)[]; command: number };
}

/** `00:03.0`, as lspci prints it. */
export function formatPciAddress(address: PciAddress): string {
  const two = (n: number) => n.toString(16).padStart(2, '0');
  return `${two(address.bus)}:${two(address.device)}.${address.function.toString(16)}`;
}

export class PciRoot {
  private readonly slots: (Slot | undefined)[] = new Array<Slot | undefined>(PCI_SLOTS).fill(undefined);
  private readonly log: RateLimitedLog;
  private readonly mmioWindow: PciWindow;
  private readonly ioWindow: PciWindow;
  private nextMmio: number;
  private nextIo: number;

  constructor(private readonly options: PciRootOptions) {
    this.log = new RateLimitedLog(options.logger ?? NULL_LOGGER);
    this.mmioWindow = options.mmioWindow ?? PCI_MMIO32_WINDOW;
    this.ioWindow = options.ioWindow ?? PCI_IO_WINDOW;
    this.nextMmio = this.mmioWindow.start;
    this.nextIo = this.ioWindow.start;
    this.attach(new PciHostBridge(), HOST_BRIDGE_SLOT);
  }

  /** Guest warnings so far (logged or rate-limited away). */
  get warnings(): number {
    return this.log.count;
  }

  /**
   * Puts a function in a slot (the first free one from 1 when not given) with its BARs assigned and decoding,
   * bus mastering on and the interrupt line routed; returns its address. Throws when the slot is taken or the
   * windows are full (host configuration errors).
   */
  attach(fn: PciFunction, slot?: number): PciAddress {
    const device = slot ?? this.slots.findIndex((s, i) => i > HOST_BRIDGE_SLOT && s === undefined);
    if (!Number.isInteger(device) || device < 0 || device >= PCI_SLOTS) throw new Error(`no free PCI slot for ${fn.name}`);
    if (this.slots[device]) throw new Error(`PCI slot ${device} is taken by ${this.slots[device].fn.name}`);
    let command = 0;
    for (const spec of fn.config.bars) {
      if (!spec) continue;
      fn.config.setBarAddress(spec.index, this.allocate(spec, fn.name));
      command |= spec.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    if (command !== 0) fn.config.setU16(PCI_COMMAND, fn.config.command | command | PCI_COMMAND_MASTER);
    const pin = fn.config.getU8(PCI_INTERRUPT_PIN);
    if (pin !== 0) {
      const gsi = intxGsi(device, pin);
      fn.config.setU8(PCI_INTERRUPT_LINE, gsi);
      if (this.options.intx && fn.connectIntx) fn.connectIntx(this.options.intx(gsi));
    }
    const assigned = { bars: fn.config.bars.map((spec) => (spec ? fn.config.barAddress(spec.index) : undefined)), command: fn.config.command };
    const entry: Slot = { fn, mappings: new Array<Mapping | undefined>(PCI_BAR_COUNT).fill(undefined), assigned };
    this.slots[device] = entry;
    this.updateMappings(entry, device);
    return { bus: 0, device, function: 0 };
  }

  /** Machine reset: every function's BARs and COMMAND as attach() left them, mapped there again. */
  reset(): void {
    this.slots.forEach((slot, device) => {
      if (!slot) return;
      slot.assigned.bars.forEach((address, index) => {
        if (address !== undefined) slot.fn.config.setBarAddress(index, address);
      });
      slot.fn.config.setU16(PCI_COMMAND, slot.assigned.command);
      this.updateMappings(slot, device);
    });
  }

  /** The attached functions with their addresses, host bridge first. */
  functions(): { address: PciAddress; fn: PciFunction }[] {
    const out: { address: PciAddress; fn: PciFunction }[] = [];
    this.slots.forEach((s, device) => {
      if (s) out.push({ address: { bus: 0, device, function: 0 }, fn: s.fn });
    });
    return out;
  }

  /** Where a function's BAR decodes now, or undefined when it does not. */
  barBase(device: number, index: number): number | undefined {
    return this.slots[device]?.mappings[index]?.base;
  }

  /** A configuration read; absent functions read all-ones (how guests find empty slots). */
  readConfig(bus: number, device: number, fn: number, offset: number, size: number): number {
    const slot = this.slotAt(bus, device, fn);
    if (!slot || offset < 0 || offset + size > PCIE_CONFIG_SPACE_SIZE) return allOnes(size === 1 || size === 2 ? size : 4);
    try {
      slot.fn.beforeConfigRead?.(offset, size);
    } catch (err) {
      this.log.warn({ device: slot.fn.name, offset: hex(offset), err: String(err) }, `pci: ${slot.fn.name} failed a config read`);
    }
    return slot.fn.config.read(offset, size);
  }

  /** A configuration write; writes to absent functions are dropped. */
  writeConfig(bus: number, device: number, fn: number, offset: number, size: number, value: number): void {
    const slot = this.slotAt(bus, device, fn);
    if (!slot || offset < 0 || offset + size > PCI_CONFIG_SPACE_SIZE) return;
    slot.fn.config.write(offset, size, value);
    try {
      slot.fn.configWritten?.(offset, size);
    } catch (err) {
      this.log.warn({ device: slot.fn.name, offset: hex(offset), err: String(err) }, `pci: ${slot.fn.name} failed a config write`);
    }
    const barsEnd = PCI_BAR0 + 4 * PCI_BAR_COUNT;
    const touchesCommand = offset < PCI_COMMAND + 2 && offset + size > PCI_COMMAND;
    const touchesBars = offset < barsEnd && offset + size > PCI_BAR0;
    if (touchesCommand || touchesBars) this.updateMappings(slot, device);
  }

  private slotAt(bus: number, device: number, fn: number): Slot | undefined {
    if (bus !== 0 || fn !== 0 || device < 0 || device >= PCI_SLOTS) return undefined;
    return this.slots[device];
  }

  private allocate(spec: PciBarSpec, name: string): number {
    const io = spec.kind === 'io';
    const window = io ? this.ioWindow : this.mmioWindow;
    const next = io ? this.nextIo : this.nextMmio;
    const base = Math.ceil(next / spec.size) * spec.size;
    if (base + spec.size > window.end) throw new Error(`PCI ${io ? 'I/O' : 'MMIO'} window is full: cannot place BAR ${spec.index} of ${name} (${spec.size} bytes)`);
    if (io) this.nextIo = base + spec.size;
    else this.nextMmio = base + spec.size;
    return base;
  }

  /** Moves every BAR of a function to where its registers and COMMAND say it decodes. */
  private updateMappings(slot: Slot, device: number): void {
    const { fn } = slot;
    const wanted = fn.config.bars.map((spec) => (spec ? this.wantedMapping(fn, spec, device) : undefined));
    const changed: number[] = [];
    for (let i = 0; i < PCI_BAR_COUNT; i++) {
      const now = slot.mappings[i];
      const want = wanted[i];
      if (now?.bus === want?.bus && now?.base === want?.base) continue;
      changed.push(i);
      if (now) {
        now.bus.remove(now.base);
        slot.mappings[i] = undefined;
      }
    }
    for (const i of changed) {
      const want = wanted[i];
      const spec = fn.config.bars[i];
      const region = fn.barRegions.find((r) => r.index === i);
      if (!want || !spec || !region) continue;
      try {
        want.bus.insert(want.base, spec.size, region.device, `${fn.name}-bar${i}`);
        slot.mappings[i] = want;
      } catch (err) {
        this.log.warn({ device: fn.name, bar: i, base: hex(want.base) }, `pci: BAR ${i} of ${fn.name} left unmapped: ${(err as Error).message}`);
      }
    }
    for (const i of changed) fn.barMapped?.(i, slot.mappings[i]?.base);
  }

  private wantedMapping(fn: PciFunction, spec: PciBarSpec, device: number): Mapping | undefined {
    const io = spec.kind === 'io';
    if ((fn.config.command & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) === 0) return undefined;
    const base = fn.config.barAddress(spec.index);
    if (base === undefined || base === 0) return undefined;
    const window = io ? this.ioWindow : this.mmioWindow;
    if (base < window.start || base + spec.size > window.end) {
      // All-ones (sizing) leaves the BAR at its size mask: expected, not worth a warning.
      const sizing = io ? base === (~(spec.size - 1) & 0xffff_fffc) >>> 0 : isSizingPattern(base, spec);
      if (!sizing) {
        this.log.warn(
          { device: fn.name, slot: device, bar: spec.index, base: hex(base) },
          `pci: BAR ${spec.index} of ${fn.name} programmed to ${hex(base)}, outside the ${io ? 'I/O' : 'MMIO'} window: not decoded`,
        );
      }
      return undefined;
    }
    return { bus: io ? this.options.pio : this.options.mmio, base };
  }
}

/** True when a memory BAR holds what writing all-ones to it leaves (its size mask). */
function isSizingPattern(base: number, spec: PciBarSpec): boolean {
  const low = (~(spec.size - 1) & 0xffff_fff0) >>> 0;
  if (spec.kind === 'mem32') return base === low;
  // 64-bit BARs are sized one half at a time: either half may still hold its old value.
  return base % 0x1_0000_0000 === low || base >= 0xffff_ffff * 0x1_0000_0000;
}
