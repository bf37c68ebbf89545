/**
 * FACS (ACPI 6.x, section 5.2.10): the firmware/OS shared page of a non-hardware-reduced platform, 64 bytes,
 * 64-byte aligned, no checksum. hv has no firmware and no sleep states to wake from, so every field is zero
 * except the signature, length and version: it exists so OSPM finds the global lock and waking vector fields
 * that a PC-style FADT promises (QEMU's pc/q35 tables carry one too).
 *    0 "FACS"   4 length 64   8 hardware signature   12 waking vector   16 global lock   20 flags
 *   24 X waking vector (8)   32 version 2   36 OSPM flags   40 reserved (24)
 */
import { putAscii } from './sdt-header';

/** FACS signature. */
export const FACS_SIGNATURE = 'FACS';
/** FACS length. */
export const FACS_SIZE = 64;
/** The FACS must start on a 64-byte boundary. */
export const FACS_ALIGN = 64;
/** FACS version of ACPI 4.0 and later. */
export const FACS_VERSION = 2;
/** Offset of the version byte. */
const FACS_VERSION_OFFSET = 32;

export function buildFacs(): Uint8Array {
  const facs = new Uint8Array(FACS_SIZE);
  putAscii(facs, 0, FACS_SIGNATURE, 4);
  new DataView(facs.buffer).setUint32(4, FACS_SIZE, true);
  facs[FACS_VERSION_OFFSET] = FACS_VERSION;
  return facs;
}
