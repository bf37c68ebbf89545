/**
 * The 36-byte header every ACPI system description table starts with (ACPI 6.x, section 5.2.6):
 *
 *    0 Signature (4)   4 Length (4)   8 Revision (1)   9 Checksum (1)   10 OEMID (6)
 *   16 OEM Table ID (8)   24 OEM Revision (4)   28 Creator ID (4)   32 Creator Revision (4)
 *
 * The checksum makes the whole table (header and body, Length bytes) sum to 0.
 */
import { fixChecksum } from './checksum';

/** Size of the header. */
export const SDT_HEADER_SIZE = 36;
/** Offset of the Length field. */
export const SDT_LENGTH_OFFSET = 4;
/** Offset of the Revision field. */
export const SDT_REVISION_OFFSET = 8;
/** Offset of the Checksum byte. */
export const SDT_CHECKSUM_OFFSET = 9;
/** OEMID of every hv table (6 characters), also in the RSDP. */
export const ACPI_OEM_ID = 'HVVMM ';
/** OEM Table ID of every hv table (8 characters). */
export const ACPI_OEM_TABLE_ID = 'HVMICRVM';
/** OEM Revision of the tables. */
export const ACPI_OEM_REVISION = 1;
/** Creator ID: the tool that built the tables (4 characters). */
export const ACPI_CREATOR_ID = 'HVTS';
/** Creator Revision. */
export const ACPI_CREATOR_REVISION = 1;

/** Writes an ASCII string of exactly `length` characters at `at`. */
export function putAscii(bytes: Uint8Array, at: number, text: string, length: number): void {
  if (text.length !== length || !/^[\x20-\x7e]*$/.test(text)) throw new RangeError(`"${text}" is not ${length} printable characters`);
  for (let i = 0; i < length; i++) bytes[at + i] = text.charCodeAt(i);
}

/** A table: the header for `signature`/`revision` followed by `body`, with Length and Checksum filled in. */
export function buildSdt(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const table = new Uint8Array(SDT_HEADER_SIZE + body.length);
  const view = new DataView(table.buffer);
  putAscii(table, 0, signature, 4);
  view.setUint32(SDT_LENGTH_OFFSET, table.length, true);
  table[SDT_REVISION_OFFSET] = revision;
  putAscii(table, 10, ACPI_OEM_ID, 6);
  putAscii(table, 16, ACPI_OEM_TABLE_ID, 8);
  view.setUint32(24, ACPI_OEM_REVISION, true);
  putAscii(table, 28, ACPI_CREATOR_ID, 4);
  view.setUint32(32, ACPI_CREATOR_REVISION, true);
  table.set(body, SDT_HEADER_SIZE);
  fixChecksum(table, SDT_CHECKSUM_OFFSET);
  return table;
}
