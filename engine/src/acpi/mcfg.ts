/**
 * MCFG (PCI Firmware Specification 3.x, "PCI Express memory mapped configuration space base address
 * description table"): 8 reserved bytes after the header, then one 16-byte allocation per ECAM region:
 *   0 base address (8)   8 PCI segment group (2)   10 start bus (1)   11 end bus (1)   12 reserved (4)
 */
import { concatBytes } from './aml';
import { buildSdt } from './sdt-header';

/** MCFG signature. */
export const MCFG_SIGNATURE = 'MCFG';
/** MCFG revision. */
export const MCFG_REVISION = 1;
/** Bytes of ECAM per bus: 32 devices × 8 functions × 4 KiB. */
export const ECAM_BYTES_PER_BUS = 1 << 20;

export interface EcamRegion {
  /** Guest physical base of bus 0's configuration space (ECAM address of bus startBus is base + startBus MiB). */
  base: number;
  /** PCI segment group (0 for the one host bridge). */
  segment?: number;
  startBus: number;
  endBus: number;
}

export function buildMcfg(ecam: EcamRegion): Uint8Array {
  const { base, startBus, endBus } = ecam;
  const segment = ecam.segment ?? 0;
  if (!Number.isSafeInteger(base) || base < 0 || base % ECAM_BYTES_PER_BUS !== 0) throw new RangeError(`ECAM base ${base} is not 1 MiB aligned`);
  if (!Number.isInteger(startBus) || !Number.isInteger(endBus) || startBus < 0 || endBus > 255 || startBus > endBus) {
    throw new RangeError(`ECAM bus range ${startBus}-${endBus} is not within 0-255`);
  }
  if (!Number.isInteger(segment) || segment < 0 || segment > 0xffff) throw new RangeError(`PCI segment ${segment} is not 16 bits`);
  const allocation = new Uint8Array(16);
  const view = new DataView(allocation.buffer);
  view.setBigUint64(0, BigInt(base), true);
  view.setUint16(8, segment, true);
  allocation[10] = startBus;
  allocation[11] = endBus;
  return buildSdt(MCFG_SIGNATURE, MCFG_REVISION, concatBytes([new Uint8Array(8), allocation]));
}
