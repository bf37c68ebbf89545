/**
 * One PCI function's configuration space: a type-0 header, BAR registers with sizing, and a capability list.
 *
 * Every byte has a write mask: a guest write changes only the bits the mask allows, so read-only registers stay
 * as built and BAR sizing (write all-ones, read back) falls out of the masks. Offsets beyond the 256-byte
 * conventional space (reachable through ECAM) read as zero and ignore writes: no extended capabilities.
 */
import { allOnes, isAccessSize } from '../bus';

/** Conventional configuration space size (what config mechanism #1 reaches). */
export const PCI_CONFIG_SPACE_SIZE = 256;
/** PCI Express extended configuration space size (what ECAM reaches per function). */
export const PCIE_CONFIG_SPACE_SIZE = 4096;

/** Vendor ID (16 bits, read-only). */
export const PCI_VENDOR_ID = 0x00;
/** Device ID (16 bits, read-only). */
export const PCI_DEVICE_ID = 0x02;
/** Command register (16 bits). */
export const PCI_COMMAND = 0x04;
/** Status register (16 bits). */
export const PCI_STATUS = 0x06;
/** Revision ID (8 bits). */
export const PCI_REVISION_ID = 0x08;
/** Programming interface, sub-class, class: bytes 0x09, 0x0a, 0x0b. */
export const PCI_CLASS_PROG = 0x09;
/** Cache line size (8 bits, read/write scratch for drivers). */
export const PCI_CACHE_LINE_SIZE = 0x0c;
/** Latency timer (8 bits). */
export const PCI_LATENCY_TIMER = 0x0d;
/** Header type (bit 7: multi-function). */
export const PCI_HEADER_TYPE = 0x0e;
/** First of the six type-0 BAR registers. */
export const PCI_BAR0 = 0x10;
/** Number of BAR registers in a type-0 header. */
export const PCI_BAR_COUNT = 6;
/** Subsystem vendor ID (16 bits). */
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
/** Subsystem ID (16 bits). */
export const PCI_SUBSYSTEM_ID = 0x2e;
/** Expansion ROM base address: none here, so it reads zero and ignores writes. */
export const PCI_ROM_ADDRESS = 0x30;
/** Capabilities pointer (8 bits). */
export const PCI_CAPABILITY_LIST = 0x34;
/** Interrupt line: scratch written by firmware with the GSI the pin is routed to. */
export const PCI_INTERRUPT_LINE = 0x3c;
/** Interrupt pin: 0 none, 1 INTA .. 4 INTD (read-only). */
export const PCI_INTERRUPT_PIN = 0x3d;
/** First byte past the type-0 header: capabilities go from here. */
export const PCI_HEADER_END = 0x40;

/** COMMAND: respond to I/O space accesses. */
export const PCI_COMMAND_IO = 0x1;
/** COMMAND: respond to memory space accesses. */
export const PCI_COMMAND_MEMORY = 0x2;
/** COMMAND: may master the bus (DMA, MSI writes). */
export const PCI_COMMAND_MASTER = 0x4;
/** COMMAND: INTx emulation disabled. */
export const PCI_COMMAND_INTX_DISABLE = 0x400;
/** STATUS: INTx is asserted (read-only, kept by the device). */
export const PCI_STATUS_INTERRUPT = 0x8;
/** STATUS: the capabilities pointer is valid. */
export const PCI_STATUS_CAP_LIST = 0x10;

/** BAR bit 0: an I/O space BAR. */
export const PCI_BAR_SPACE_IO = 0x1;
/** BAR bits 2:1 = 2: a 64-bit memory BAR (the next register holds the high half). */
export const PCI_BAR_MEM_TYPE_64 = 0x4;
/** BAR bit 3: prefetchable memory. */
export const PCI_BAR_MEM_PREFETCH = 0x8;
/** Low bits of a memory BAR that are flags, not address. */
export const PCI_BAR_MEM_FLAGS_MASK = 0xf;
/** Low bits of an I/O BAR that are flags, not address. */
export const PCI_BAR_IO_FLAGS_MASK = 0x3;
/** Smallest memory BAR (PCI spec: 16 bytes; 4 KiB keeps BARs page-aligned for mapping). */
export const PCI_MIN_MEM_BAR_SIZE = 16;
/** Smallest I/O BAR. */
export const PCI_MIN_IO_BAR_SIZE = 4;
/** Largest BAR this engine builds (the whole 32-bit window fits in less). */
export const PCI_MAX_BAR_SIZE = 0x4000_0000;

/** Where a BAR decodes. */
export type PciBarKind = 'io' | 'mem32' | 'mem64';

export interface PciBarSpec {
  /** BAR register index 0..5; a mem64 BAR also takes index + 1. */
  index: number;
  kind: PciBarKind;
  /** Power of two. */
  size: number;
  prefetchable?: boolean;
}

/** What a type-0 header says about the function. */
export interface PciHeader {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** 24-bit class code: class << 16 | subclass << 8 | programming interface. */
  classCode: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 none, 1..4 INTA..INTD. */
  interruptPin?: number;
}

const TWO_POW_32 = 0x1_0000_0000;

export class PciConfigSpace {
  private readonly bytes = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  private readonly mask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** BAR specs by register index (the high half of a mem64 BAR is undefined). */
  readonly bars: (PciBarSpec | undefined)[] = new Array<PciBarSpec | undefined>(PCI_BAR_COUNT).fill(undefined);
  /** Offset of the last capability added (0: none yet), and the next free offset. */
  private lastCapability = 0;
  private nextCapability = PCI_HEADER_END;

  constructor(header: PciHeader) {
    this.setU16(PCI_VENDOR_ID, header.vendorId);
    this.setU16(PCI_DEVICE_ID, header.deviceId);
    this.bytes[PCI_REVISION_ID] = header.revision;
    this.bytes[PCI_CLASS_PROG] = header.classCode & 0xff;
    this.bytes[PCI_CLASS_PROG + 1] = (header.classCode >> 8) & 0xff;
    this.bytes[PCI_CLASS_PROG + 2] = (header.classCode >> 16) & 0xff;
    this.setU16(PCI_SUBSYSTEM_VENDOR_ID, header.subsystemVendorId ?? 0);
    this.setU16(PCI_SUBSYSTEM_ID, header.subsystemId ?? 0);
    this.bytes[PCI_INTERRUPT_PIN] = header.interruptPin ?? 0;
    // Writable: COMMAND's I/O, memory, master and INTx-disable bits; cache line, latency, interrupt line.
    this.setMask(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    this.mask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.mask[PCI_LATENCY_TIMER] = 0xff;
    this.mask[PCI_INTERRUPT_LINE] = 0xff;
  }

  /** Guest-visible read; `offset + size` within PCIE_CONFIG_SPACE_SIZE, little-endian. */
  read(offset: number, size: number): number {
    if (!isAccessSize(size) || offset < 0 || offset + size > PCIE_CONFIG_SPACE_SIZE) return isAccessSize(size) ? allOnes(size) : 0;
    if (offset >= PCI_CONFIG_SPACE_SIZE) return 0;
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + (this.bytes[offset + i] as number);
    return value;
  }

  /** Guest-visible write: only the bits each byte's mask allows change. */
  write(offset: number, size: number, value: number): void {
    if (!isAccessSize(size) || offset < 0 || offset + size > PCI_CONFIG_SPACE_SIZE) return;
    for (let i = 0; i < size; i++) {
      const m = this.mask[offset + i] as number;
      const byte = Math.floor(value / 256 ** i) & 0xff;
      this.bytes[offset + i] = ((this.bytes[offset + i] as number) & ~m) | (byte & m);
    }
  }

  /** Host-side accessors: bypass the write masks (device state, firmware-style set-up). */
  getU8(offset: number): number {
    return this.bytes[offset] as number;
  }
  getU16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  getU32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  setU8(offset: number, value: number): void {
    this.bytes[offset] = value;
  }
  setU16(offset: number, value: number): void {
    this.view.setUint16(offset, value, true);
  }
  setU32(offset: number, value: number): void {
    this.view.setUint32(offset, value >>> 0, true);
  }
  /** Makes `bits` of the `size`-byte register at offset guest-writable (the others become read-only). */
  setMask(offset: number, size: number, bits: number): void {
    for (let i = 0; i < size; i++) this.mask[offset + i] = Math.floor(bits / 256 ** i) & 0xff;
  }

  get command(): number {
    return this.getU16(PCI_COMMAND);
  }

  /** Declares a BAR: its flag bits become read-only and its address bits below the size read back as zero. */
  defineBar(spec: PciBarSpec): void {
    const { index, kind, size } = spec;
    const slots = kind === 'mem64' ? 2 : 1;
    if (!Number.isInteger(index) || index < 0 || index + slots > PCI_BAR_COUNT) throw new RangeError(`BAR index ${index} out of range for ${kind}`);
    const min = kind === 'io' ? PCI_MIN_IO_BAR_SIZE : PCI_MIN_MEM_BAR_SIZE;
    if (!Number.isInteger(size) || size < min || size > PCI_MAX_BAR_SIZE || (size & (size - 1)) !== 0) {
      throw new RangeError(`BAR ${index} size ${size} is not a power of two in ${min}..${PCI_MAX_BAR_SIZE}`);
    }
    for (let i = index; i < index + slots; i++) {
      if (this.bars[i] !== undefined || (i > 0 && this.bars[i - 1]?.kind === 'mem64')) throw new Error(`BAR ${i} is already defined`);
    }
    this.bars[index] = spec;
    const at = PCI_BAR0 + 4 * index;
    if (kind === 'io') {
      this.setU32(at, PCI_BAR_SPACE_IO);
      this.setMask(at, 4, ~(size - 1) >>> 0);
    } else {
      this.setU32(at, (kind === 'mem64' ? PCI_BAR_MEM_TYPE_64 : 0) | (spec.prefetchable ? PCI_BAR_MEM_PREFETCH : 0));
      this.setMask(at, 4, ~(size - 1) >>> 0 & ~PCI_BAR_MEM_FLAGS_MASK);
      if (kind === 'mem64') this.setMask(at + 4, 4, 0xffff_ffff);
    }
  }

  /** The address a BAR holds now (as programmed, whatever decode says); undefined for no BAR. */
  barAddress(index: number): number | undefined {
    const spec = this.bars[index];
    if (!spec) return undefined;
    const low = this.getU32(PCI_BAR0 + 4 * index);
    if (spec.kind === 'io') return (low & ~PCI_BAR_IO_FLAGS_MASK) >>> 0;
    const base = (low & ~PCI_BAR_MEM_FLAGS_MASK) >>> 0;
    return spec.kind === 'mem64' ? base + this.getU32(PCI_BAR0 + 4 * index + 4) * TWO_POW_32 : base;
  }

  /** Firmware-style BAR programming (host side). */
  setBarAddress(index: number, address: number): void {
    const spec = this.bars[index];
    if (!spec) throw new Error(`BAR ${index} is not defined`);
    const at = PCI_BAR0 + 4 * index;
    const flags = this.getU32(at) & (spec.kind === 'io' ? PCI_BAR_IO_FLAGS_MASK : PCI_BAR_MEM_FLAGS_MASK);
    this.setU32(at, ((address % TWO_POW_32) | flags) >>> 0);
    if (spec.kind === 'mem64') this.setU32(at + 4, Math.floor(address / TWO_POW_32));
  }

  /**
   * Appends a capability (id, then `length - 2` body bytes) to the list and returns its offset. The body starts
   * zeroed and read-only; callers fill it with setU* and open writable bits with setMask.
   */
  addCapability(id: number, length: number): number {
    const offset = this.nextCapability;
    if (length < 2 || offset + length > PCI_CONFIG_SPACE_SIZE) throw new RangeError(`no room for a ${length}-byte capability at ${offset}`);
    this.bytes[offset] = id;
    this.bytes[offset + 1] = 0;
    if (this.lastCapability === 0) this.bytes[PCI_CAPABILITY_LIST] = offset;
    else this.bytes[this.lastCapability + 1] = offset;
    this.setU16(PCI_STATUS, this.getU16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
    this.lastCapability = offset;
    this.nextCapability = (offset + length + 3) & ~3;
    return offset;
  }
}
