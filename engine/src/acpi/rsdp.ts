/**
 * RSDP (ACPI 6.x, section 5.2.5), revision 2, 36 bytes; the OS finds it through PVH start_info's rsdp_paddr
 * or by scanning 16-byte boundaries of 0xE0000-0xFFFFF for its signature:
 *    0 "RSD PTR " (8)   8 checksum of bytes 0-19 (1)   9 OEMID (6)   15 revision 2 (1)   16 RSDT address (4)
 *   20 length 36 (4)    24 XSDT address (8)   32 extended checksum of all 36 bytes (1)   33 reserved (3)
 * hv has no RSDT (address 0): ACPI 2.0+ OSes use the XSDT.
 */
import { fixChecksum } from './checksum';
import { ACPI_OEM_ID, putAscii } from './sdt-header';

/** RSDP signature. */
export const RSDP_SIGNATURE = 'RSD PTR ';
/** RSDP revision 2: ACPI 2.0 and later, with the XSDT address. */
export const RSDP_REVISION = 2;
/** Size of a revision 2 RSDP. */
export const RSDP_SIZE = 36;
/** Bytes the first (ACPI 1.0) checksum covers. */
export const RSDP_V1_SIZE = 20;
/** The RSDP must start on a 16-byte boundary. */
export const RSDP_ALIGN = 16;

export function buildRsdp(xsdtGpa: number): Uint8Array {
  if (!Number.isSafeInteger(xsdtGpa) || xsdtGpa <= 0) throw new RangeError(`XSDT address ${xsdtGpa} is not a guest address`);
  const rsdp = new Uint8Array(RSDP_SIZE);
  const view = new DataView(rsdp.buffer);
  putAscii(rsdp, 0, RSDP_SIGNATURE, 8);
  putAscii(rsdp, 9, ACPI_OEM_ID, 6);
  rsdp[15] = RSDP_REVISION;
  view.setUint32(16, 0, true);
  view.setUint32(20, RSDP_SIZE, true);
  view.setBigUint64(24, BigInt(xsdtGpa), true);
  fixChecksum(rsdp, 8, 0, RSDP_V1_SIZE);
  fixChecksum(rsdp, 32, 0, RSDP_SIZE);
  return rsdp;
}
