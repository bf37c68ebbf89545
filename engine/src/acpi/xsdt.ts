/** XSDT (ACPI 6.x, section 5.2.8): the header, then the 64-bit addresses of every other table except the DSDT. */
import { buildSdt } from './sdt-header';

/** XSDT signature. */
export const XSDT_SIGNATURE = 'XSDT';
/** XSDT revision. */
export const XSDT_REVISION = 1;

export function buildXsdt(tableGpas: readonly number[]): Uint8Array {
  const body = new Uint8Array(8 * tableGpas.length);
  const view = new DataView(body.buffer);
  tableGpas.forEach((gpa, i) => {
    if (!Number.isSafeInteger(gpa) || gpa <= 0) throw new RangeError(`table address ${gpa} is not a guest address`);
    view.setBigUint64(8 * i, BigInt(gpa), true);
  });
  return buildSdt(XSDT_SIGNATURE, XSDT_REVISION, body);
}
