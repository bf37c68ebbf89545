import { VIRTIO_MSI_NO_VECTOR } from './virtio-pci-layout';

const TWO_POW_32 = 0x1_0000_0000;

/** One queue's common-configuration registers as the driver programs them (§4.1.4.3). */
export interface QueueRegisters {
  size: number;
  msixVector: number;
  enabled: boolean;
  /** Guest physical addresses (64-bit registers; above 2^53 they are imprecise and fail the queue's bounds check). */
  desc: number;
  driver: number;
  device: number;
}

/** A queue's registers after reset: size at its maximum, no vector, disabled, addresses zero. */
export function freshQueue(max: number): QueueRegisters {
  return { size: max, msixVector: VIRTIO_MSI_NO_VECTOR, enabled: false, desc: 0, driver: 0, device: 0 };
}

/** The 32 feature bits `select` picks (0: bits 0-31, 1: bits 32-63, others: none). */
export function featureWord(features: bigint, select: number): number {
  if (select > 1) return 0;
  return Number((features >> BigInt(32 * select)) & 0xffff_ffffn);
}

/** Replaces the low 32 bits of a 64-bit register. */
export function setLow(address: number, low: number): number {
  return Math.floor(address / TWO_POW_32) * TWO_POW_32 + (low >>> 0);
}

/** Replaces the high 32 bits of a 64-bit register. */
export function setHigh(address: number, high: number): number {
  return (high >>> 0) * TWO_POW_32 + (address % TWO_POW_32);
}

/** The low or high half of a 64-bit register. */
export function half(address: number, high: boolean): number {
  return high ? Math.floor(address / TWO_POW_32) : address % TWO_POW_32;
}
