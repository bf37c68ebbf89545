/** The MSRs a vCPU boots with, as the kvm_msr_entry bytes KVM_SET_MSRS takes. */
import { describe, expect, it } from 'vitest';
import { bootMsrEntries, decodeMsrEntries, encodeMsrEntries } from '../../../../engine/src/accel/kvm/boot-msrs';
import { KVM_MSR_ENTRY_SIZE } from '../../../../engine/src/accel/kvm/kvm-abi';

describe('boot MSRs', () => {
  it('clears the syscall entry points and the TSC, enables fast strings and write-back MTRRs', () => {
    const byIndex = new Map(bootMsrEntries().map((e) => [e.index, e.data]));
    for (const index of [0x174, 0x175, 0x176, 0xc000_0081, 0xc000_0082, 0xc000_0083, 0xc000_0084, 0xc000_0102, 0x10]) {
      expect(byIndex.get(index), index.toString(16)).toBe(0n);
    }
    expect(byIndex.get(0x1a0)).toBe(1n);
    expect(byIndex.get(0x2ff)).toBe(0x806n);
  });

  it('keeps only MSRs KVM lists, so KVM_SET_MSRS can set them all', () => {
    const entries = bootMsrEntries(new Uint32Array([0x10, 0x2ff, 0x12345]));
    expect(entries.map((e) => e.index)).toEqual([0x10, 0x2ff]);
    expect(bootMsrEntries([])).toEqual([]);
  });

  it('encodes 16 bytes per MSR (index at 0, data at 8) and decodes them back', () => {
    const entries = [{ index: 0xc000_0082, data: 0xffff_ffff_8100_0000n }];
    const bytes = encodeMsrEntries(entries);
    expect(bytes.byteLength).toBe(KVM_MSR_ENTRY_SIZE);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(0, true)).toBe(0xc000_0082);
    expect(v.getUint32(4, true)).toBe(0);
    expect(v.getBigUint64(8, true)).toBe(0xffff_ffff_8100_0000n);
    expect(decodeMsrEntries(bytes)).toEqual(entries);
    expect(() => encodeMsrEntries([{ index: 0x10, data: 1n << 64n }])).toThrow(RangeError);
    expect(() => decodeMsrEntries(new Uint8Array(15))).toThrow(RangeError);
  });
});
