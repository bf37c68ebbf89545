/**
 * A small AML (ACPI Machine Language) encoder for exactly what hv's DSDT needs (ACPI 6.x, section 20.2):
 * names, scopes, devices, integers, strings, packages, buffers and EISA ids. Each function returns the
 * encoded bytes of one term, so a definition block is built bottom-up from plain arrays of bytes.
 *
 * Encoding steps, as the spec's grammar has them:
 * 1. A NameString is an optional root ('\') or parent ('^') prefix, then 4-character NameSegs: one alone,
 *    two after DualNamePrefix, more after MultiNamePrefix and a count. Short segments pad with '_'.
 * 2. Objects with a body (Scope, Device, Package, Buffer) carry a PkgLength: the body's length plus the
 *    PkgLength's own 1-4 bytes; one byte holds up to 63, longer ones put the byte count in bits 6-7 of the
 *    lead byte, the low nibble there and 8 more bits in each following byte.
 * 3. Integers take the shortest form: ZeroOp, OneOp, or a Byte/Word/DWord/QWord prefix and little-endian bytes.
 */

/** ZeroOp: the integer 0. */
export const AML_ZERO_OP = 0x00;
/** OneOp: the integer 1. */
export const AML_ONE_OP = 0x01;
/** NameOp: Name(NameString, DataRefObject). */
export const AML_NAME_OP = 0x08;
/** BytePrefix: an 8-bit integer follows. */
export const AML_BYTE_PREFIX = 0x0a;
/** WordPrefix: a 16-bit integer follows. */
export const AML_WORD_PREFIX = 0x0b;
/** DWordPrefix: a 32-bit integer follows. */
export const AML_DWORD_PREFIX = 0x0c;
/** StringPrefix: ASCII characters and a NUL follow. */
export const AML_STRING_PREFIX = 0x0d;
/** QWordPrefix: a 64-bit integer follows. */
export const AML_QWORD_PREFIX = 0x0e;
/** ScopeOp: Scope(NameString) { TermList }. */
export const AML_SCOPE_OP = 0x10;
/** BufferOp: Buffer(size) { bytes }. */
export const AML_BUFFER_OP = 0x11;
/** PackageOp: Package(count) { elements }. */
export const AML_PACKAGE_OP = 0x12;
/** DualNamePrefix: two NameSegs follow. */
export const AML_DUAL_NAME_PREFIX = 0x2e;
/** MultiNamePrefix: a segment count and that many NameSegs follow. */
export const AML_MULTI_NAME_PREFIX = 0x2f;
/** ExtOpPrefix: the next byte is an extended opcode. */
export const AML_EXT_OP_PREFIX = 0x5b;
/** DeviceOp (after ExtOpPrefix): Device(NameString) { TermList }. */
export const AML_DEVICE_OP = 0x82;
/** RootChar: a name path from the namespace root. */
export const AML_ROOT_CHAR = 0x5c;
/** ParentPrefixChar: a name path from the parent scope. */
export const AML_PARENT_PREFIX_CHAR = 0x5e;

/** Characters in one NameSeg. */
const NAME_SEG_LENGTH = 4;
/** Largest body a 4-byte PkgLength can describe (28 bits, less its own bytes). */
const MAX_PKG_LENGTH = (1 << 28) - 1;
/** Largest count a Package's one-byte NumElements holds. */
const MAX_PACKAGE_ELEMENTS = 255;

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** One NameSeg: a leading letter or '_', then letters, digits or '_', padded to 4 with '_'. */
function nameSeg(seg: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new RangeError(`"${seg}" is not an AML NameSeg`);
  const padded = seg.padEnd(NAME_SEG_LENGTH, '_');
  return [...padded].map((c) => c.charCodeAt(0));
}

/** A NameString such as "\\_SB.PCI0", "_S5" or "^COM1". */
export function amlNameString(path: string): Uint8Array {
  const out: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    out.push(AML_ROOT_CHAR);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      out.push(AML_PARENT_PREFIX_CHAR);
      rest = rest.slice(1);
    }
  }
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) out.push(AML_ZERO_OP); // NullName: the root or parent itself
  else if (segs.length === 2) out.push(AML_DUAL_NAME_PREFIX);
  else if (segs.length > 2) {
    if (segs.length > 255) throw new RangeError(`name path "${path}" has more than 255 segments`);
    out.push(AML_MULTI_NAME_PREFIX, segs.length);
  }
  for (const seg of segs) out.push(...nameSeg(seg));
  return Uint8Array.from(out);
}

/** PkgLength for a body of bodyLength bytes (the encoding counts its own bytes). */
export function amlPkgLength(bodyLength: number): Uint8Array {
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || bodyLength > MAX_PKG_LENGTH - 4) {
    throw new RangeError(`AML package body of ${bodyLength} bytes is too long`);
  }
  if (bodyLength + 1 <= 0x3f) return Uint8Array.of(bodyLength + 1);
  for (let extra = 1; extra <= 3; extra++) {
    const total = bodyLength + 1 + extra;
    if (total < 1 << (4 + 8 * extra)) {
      const out = new Uint8Array(1 + extra);
      out[0] = (extra << 6) | (total & 0x0f);
      for (let i = 1; i <= extra; i++) out[i] = (total >>> (4 + 8 * (i - 1))) & 0xff;
      return out;
    }
  }
  throw new RangeError(`AML package body of ${bodyLength} bytes is too long`);
}

/** An integer constant in its shortest encoding (0 ≤ value < 2^64). */
export function amlInteger(value: number | bigint): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`AML integer ${v} is outside 0..2^64-1`);
  if (v === 0n) return Uint8Array.of(AML_ZERO_OP);
  if (v === 1n) return Uint8Array.of(AML_ONE_OP);
  const [prefix, bytes] =
    v <= 0xffn ? [AML_BYTE_PREFIX, 1] : v <= 0xffffn ? [AML_WORD_PREFIX, 2] : v <= 0xffff_ffffn ? [AML_DWORD_PREFIX, 4] : [AML_QWORD_PREFIX, 8];
  const out = new Uint8Array(1 + bytes);
  out[0] = prefix;
  for (let i = 0; i < bytes; i++) out[1 + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A String constant (printable ASCII). */
export function amlString(text: string): Uint8Array {
  if (!/^[\x01-\x7f]*$/.test(text)) throw new RangeError('AML strings are ASCII without NUL');
  return concatBytes([[AML_STRING_PREFIX], [...text].map((c) => c.charCodeAt(0)), [0]]);
}

/**
 * A compressed EISA id ("PNP0A08") as the 32-bit integer ASL's EisaId() produces: three letters in 5 bits
 * each ('A' = 1) and four hex digits, stored big-endian in the dword (so byte-swapped as an integer).
 */
export function eisaId(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`"${id}" is not an EISA id (three letters, four hex digits)`);
  const letters = [0, 1, 2].map((i) => id.charCodeAt(i) - 0x40);
  const value = ((letters[0] << 26) | (letters[1] << 21) | (letters[2] << 16) | parseInt(id.slice(3), 16)) >>> 0;
  // Big-endian: the most significant byte comes first in memory.
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

/** EisaId as an AML integer term. */
export function amlEisaId(id: string): Uint8Array {
  return amlInteger(eisaId(id));
}

/** Name(path, object). */
export function amlName(path: string, object: Uint8Array): Uint8Array {
  return concatBytes([[AML_NAME_OP], amlNameString(path), object]);
}

/** Scope(path) { terms }. */
export function amlScope(path: string, terms: readonly Uint8Array[]): Uint8Array {
  const body = concatBytes([amlNameString(path), ...terms]);
  return concatBytes([[AML_SCOPE_OP], amlPkgLength(body.length), body]);
}

/** Device(path) { terms }. */
export function amlDevice(path: string, terms: readonly Uint8Array[]): Uint8Array {
  const body = concatBytes([amlNameString(path), ...terms]);
  return concatBytes([[AML_EXT_OP_PREFIX, AML_DEVICE_OP], amlPkgLength(body.length), body]);
}

/** Package() { elements } with a one-byte element count. */
export function amlPackage(elements: readonly Uint8Array[]): Uint8Array {
  if (elements.length > MAX_PACKAGE_ELEMENTS) throw new RangeError(`AML package of ${elements.length} elements is too long`);
  const body = concatBytes([[elements.length], ...elements]);
  return concatBytes([[AML_PACKAGE_OP], amlPkgLength(body.length), body]);
}

/** Buffer() { bytes }, sized by its contents. */
export function amlBuffer(bytes: Uint8Array): Uint8Array {
  const body = concatBytes([amlInteger(bytes.length), bytes]);
  return concatBytes([[AML_BUFFER_OP], amlPkgLength(body.length), body]);
}
