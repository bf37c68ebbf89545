import { describe, expect, it } from 'vitest';
import {
  amlDevice,
  amlEisaId,
  amlInteger,
  amlName,
  amlNameString,
  amlPackage,
  amlPkgLength,
  amlString,
  eisaId,
} from '../../../engine/src/acpi';

const bytes = (u: Uint8Array): number[] => [...u];

describe('AML encoder', () => {
  it('encodes integers in their shortest form (ZeroOp, OneOp, Byte/Word/DWord/QWord prefixes)', () => {
    expect(bytes(amlInteger(0))).toEqual([0x00]);
    expect(bytes(amlInteger(1))).toEqual([0x01]);
    expect(bytes(amlInteger(0xff))).toEqual([0x0a, 0xff]);
    expect(bytes(amlInteger(0x100))).toEqual([0x0b, 0x00, 0x01]);
    expect(bytes(amlInteger(0xc000_0000))).toEqual([0x0c, 0x00, 0x00, 0x00, 0xc0]);
    expect(bytes(amlInteger(0x1_0000_0000n))).toEqual([0x0e, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(() => amlInteger(-1)).toThrow(RangeError);
    expect(() => amlInteger(1n << 64n)).toThrow(RangeError);
  });

  it('encodes PkgLength with 1 byte up to 63 and more bytes beyond, counting its own bytes', () => {
    expect(bytes(amlPkgLength(0))).toEqual([0x01]);
    expect(bytes(amlPkgLength(62))).toEqual([0x3f]);
    // 63 body bytes + 2 length bytes = 65 = 0x41: lead byte 0x40 | 0x1, then 0x41 >> 4 = 0x04.
    expect(bytes(amlPkgLength(63))).toEqual([0x41, 0x04]);
    // 4093 + 2 = 4095 is the most two bytes hold; one more needs three.
    expect(bytes(amlPkgLength(4093))).toEqual([0x4f, 0xff]);
    expect(bytes(amlPkgLength(4094))).toEqual([0x80 | (4097 & 0xf), (4097 >> 4) & 0xff, 4097 >> 12]);
  });

  it('encodes name paths: root, single, dual and multi segments, padded with "_"', () => {
    expect(bytes(amlNameString('\\_SB'))).toEqual([0x5c, ...'_SB_'].map((c) => (typeof c === 'string' ? c.charCodeAt(0) : c)));
    expect(String.fromCharCode(...amlNameString('PCI0'))).toBe('PCI0');
    expect(bytes(amlNameString('\\_SB.PCI0'))).toEqual([0x5c, 0x2e, ...Buffer.from('_SB_PCI0')]);
    expect(bytes(amlNameString('A.B.C'))).toEqual([0x2f, 3, ...Buffer.from('A___B___C___')]);
    expect(bytes(amlNameString('^^X'))).toEqual([0x5e, 0x5e, ...Buffer.from('X___')]);
    expect(() => amlNameString('pci0')).toThrow(RangeError);
    expect(() => amlNameString('TOOLONG')).toThrow(RangeError);
  });

  it('compresses EISA ids as ASL EisaId() does', () => {
    // The values Linux and every firmware use for these ids.
    expect(eisaId('PNP0A03')).toBe(0x030a_d041);
    expect(eisaId('PNP0A08')).toBe(0x080a_d041);
    expect(eisaId('PNP0501')).toBe(0x0105_d041);
    expect(bytes(amlEisaId('PNP0303'))).toEqual([0x0c, 0x41, 0xd0, 0x03, 0x03]);
    expect(() => eisaId('pnp0a03')).toThrow(RangeError);
  });

  it('builds Name, Device, Package and String terms with their opcodes', () => {
    expect(bytes(amlName('_UID', amlInteger(1)))).toEqual([0x08, ...Buffer.from('_UID'), 0x01]);
    const device = amlDevice('COM1', [amlName('_UID', amlInteger(1))]);
    expect(bytes(device.subarray(0, 3))).toEqual([0x5b, 0x82, device.length - 2]);
    expect(bytes(amlPackage([amlInteger(0), amlInteger(0)]))).toEqual([0x12, 0x04, 0x02, 0x00, 0x00]);
    expect(bytes(amlString('ab'))).toEqual([0x0d, 0x61, 0x62, 0x00]);
  });
});
