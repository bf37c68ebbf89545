/**
 * MSI-X (PCI Local Bus 3.0 §6.8.2): a capability in config space plus a vector table and a pending-bit array
 * (PBA) in a BAR. Protocol:
 *   1. the driver reads the capability (table size, table and PBA BAR/offset), programs table entries
 *      (address, data, unmask) through the BAR and sets ENABLE in message control;
 *   2. the device signals a vector: if the vector or the whole function is masked its pending bit is set,
 *      otherwise the entry's message goes to the MsiSink;
 *   3. unmasking an entry (or the function) with its pending bit set sends the message then and clears the bit.
 */
import { allOnes, isAccessSize, type BusDevice } from '../bus';
import type { MsiSink } from './msi-sink';
import type { PciConfigSpace } from './pci-config-space';

/** Capability ID of MSI-X. */
export const PCI_CAP_ID_MSIX = 0x11;
/** Bytes of the MSI-X capability structure. */
export const MSIX_CAP_LENGTH = 12;
/** Capability offset of message control (16 bits). */
export const MSIX_MESSAGE_CONTROL = 2;
/** Capability offset of the table offset / BIR dword. */
export const MSIX_TABLE_OFFSET = 4;
/** Capability offset of the PBA offset / BIR dword. */
export const MSIX_PBA_OFFSET = 8;
/** Message control: MSI-X enable. */
export const MSIX_CONTROL_ENABLE = 0x8000;
/** Message control: all vectors masked. */
export const MSIX_CONTROL_FUNCTION_MASK = 0x4000;
/** Message control: table size - 1 (read-only). */
export const MSIX_CONTROL_TABLE_SIZE_MASK = 0x7ff;
/** Bytes per table entry: address low, address high, data, vector control. */
export const MSIX_ENTRY_SIZE = 16;
/** Entry offset of vector control, whose bit 0 masks the vector. */
export const MSIX_ENTRY_VECTOR_CONTROL = 12;
/** Vector control: masked (entries come up masked). */
export const MSIX_VECTOR_MASKED = 0x1;
/** Most vectors a function may have. */
export const MSIX_MAX_VECTORS = 2048;

export interface MsixOptions {
  vectors: number;
  /** BAR index holding the table and the PBA. */
  bar: number;
  /** Offsets of the table and the PBA in the BAR (8-byte aligned). */
  tableOffset: number;
  pbaOffset: number;
  sink: MsiSink;
}

export class MsixCapability {
  readonly vectors: number;
  /** Offset of the capability in config space. */
  readonly capOffset: number;
  /** The vector table, to be decoded by the BAR at tableOffset. */
  readonly table: BusDevice;
  /** The pending-bit array, to be decoded by the BAR at pbaOffset. */
  readonly pba: BusDevice;
  private readonly entries: Uint8Array;
  private readonly entryView: DataView;
  private readonly pending: Uint8Array;
  private readonly sink: MsiSink;

  constructor(
    private readonly config: PciConfigSpace,
    options: MsixOptions,
  ) {
    const { vectors } = options;
    if (!Number.isInteger(vectors) || vectors < 1 || vectors > MSIX_MAX_VECTORS) throw new RangeError(`MSI-X vector count ${vectors} out of 1..${MSIX_MAX_VECTORS}`);
    this.vectors = vectors;
    this.sink = options.sink;
    this.entries = new Uint8Array(vectors * MSIX_ENTRY_SIZE);
    this.entryView = new DataView(this.entries.buffer);
    this.pending = new Uint8Array(Math.ceil(vectors / 64) * 8);
    this.capOffset = config.addCapability(PCI_CAP_ID_MSIX, MSIX_CAP_LENGTH);
    config.setU16(this.capOffset + MSIX_MESSAGE_CONTROL, vectors - 1);
    config.setMask(this.capOffset + MSIX_MESSAGE_CONTROL, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    config.setU32(this.capOffset + MSIX_TABLE_OFFSET, options.tableOffset | options.bar);
    config.setU32(this.capOffset + MSIX_PBA_OFFSET, options.pbaOffset | options.bar);
    this.resetVectors();
    this.table = {
      read: (offset, size) => this.readBytes(this.entries, offset, size),
      write: (offset, size, value) => this.writeTable(offset, size, value),
    };
    this.pba = {
      read: (offset, size) => this.readBytes(this.pending, offset, size),
      write: () => undefined, // read-only
    };
  }

  /** Table size in bytes (for laying out the BAR). */
  get tableBytes(): number {
    return this.entries.length;
  }
  get pbaBytes(): number {
    return this.pending.length;
  }

  get enabled(): boolean {
    return (this.control & MSIX_CONTROL_ENABLE) !== 0;
  }

  /**
   * Signals a vector: true when MSI-X is enabled (the message was sent or left pending), false when it is
   * disabled (the caller falls back to INTx). Vectors beyond the table are ignored (true: nothing to fall back to).
   */
  signal(vector: number): boolean {
    if (!this.enabled) return false;
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.vectors) return true;
    if (this.masked(vector)) this.pending[vector >> 3] = (this.pending[vector >> 3] as number) | (1 << (vector & 7));
    else this.send(vector);
    return true;
  }

  /** Call after a config write: unmasking the function sends pending messages. */
  configWritten(offset: number, size: number): void {
    const control = this.capOffset + MSIX_MESSAGE_CONTROL;
    if (offset < control + 2 && offset + size > control) this.flushPending();
  }

  /** Function reset: entries masked and zeroed, nothing pending, MSI-X disabled. */
  reset(): void {
    this.config.setU16(this.capOffset + MSIX_MESSAGE_CONTROL, this.vectors - 1);
    this.resetVectors();
  }

  private get control(): number {
    return this.config.getU16(this.capOffset + MSIX_MESSAGE_CONTROL);
  }

  private masked(vector: number): boolean {
    if ((this.control & MSIX_CONTROL_FUNCTION_MASK) !== 0) return true;
    return (this.entryView.getUint32(vector * MSIX_ENTRY_SIZE + MSIX_ENTRY_VECTOR_CONTROL, true) & MSIX_VECTOR_MASKED) !== 0;
  }

  private send(vector: number): void {
    const at = vector * MSIX_ENTRY_SIZE;
    this.sink.deliver(this.entryView.getUint32(at, true), this.entryView.getUint32(at + 4, true), this.entryView.getUint32(at + 8, true));
  }

  private flushPending(): void {
    if (!this.enabled) return;
    for (let vector = 0; vector < this.vectors; vector++) {
      const bit = 1 << (vector & 7);
      if (((this.pending[vector >> 3] as number) & bit) !== 0 && !this.masked(vector)) {
        this.pending[vector >> 3] = (this.pending[vector >> 3] as number) & ~bit;
        this.send(vector);
      }
    }
  }

  private resetVectors(): void {
    this.entries.fill(0);
    this.pending.fill(0);
    for (let vector = 0; vector < this.vectors; vector++) {
      this.entryView.setUint32(vector * MSIX_ENTRY_SIZE + MSIX_ENTRY_VECTOR_CONTROL, MSIX_VECTOR_MASKED, true);
    }
  }

  private readBytes(bytes: Uint8Array, offset: number, size: number): number {
    if (!isAccessSize(size) || offset < 0 || offset + size > bytes.length) return isAccessSize(size) ? allOnes(size) : 0;
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[offset + i] as number);
    return value;
  }

  private writeTable(offset: number, size: number, value: number): void {
    if (!isAccessSize(size) || offset < 0 || offset + size > this.entries.length) return;
    for (let i = 0; i < size; i++) this.entries[offset + i] = Math.floor(value / 256 ** i) & 0xff;
    // Only bit 0 of vector control is defined; the rest reads as zero (an unaligned write may touch two entries).
    for (let vector = Math.floor(offset / MSIX_ENTRY_SIZE); vector <= Math.floor((offset + size - 1) / MSIX_ENTRY_SIZE); vector++) {
      const control = vector * MSIX_ENTRY_SIZE + MSIX_ENTRY_VECTOR_CONTROL;
      this.entryView.setUint32(control, this.entryView.getUint32(control, true) & MSIX_VECTOR_MASKED, true);
    }
    this.flushPending();
  }
}
