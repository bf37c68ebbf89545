/**
 * The boot states of engine/src/boot as the kvm_sregs/kvm_regs bytes KVM_SET_SREGS/KVM_SET_REGS receive: each
 * field lands at the offset <linux/kvm.h> gives it (offsets pinned by static_assert and kvm-layout.test.ts), and
 * what KVM had in fields the boot state does not name survives.
 */
import { describe, expect, it } from 'vitest';
import { KVM_REGS_SIZE, KVM_SEGMENT, KVM_SREGS, KVM_SREGS_SIZE } from '../../../../engine/src/accel/kvm/kvm-abi';
import { decodeKvmRegs, decodeKvmSregs, encodeKvmRegs, encodeKvmSregs, kvmEfer } from '../../../../engine/src/accel/kvm/kvm-registers';
import type { BootCpuState } from '../../../../engine/src/boot/cpu-state';
import { pvhEntryState } from '../../../../engine/src/boot/cpu-state';
import { BOOT_CODE64_SELECTOR, bootSegment } from '../../../../engine/src/boot/gdt';

/** The 64-bit Linux boot protocol entry (boot.rst): long mode over identity page tables, rsi = zero page. */
function linux64Entry(entry: number, zeroPage: number, pml4: number): BootCpuState {
  const pvh = pvhEntryState(entry, 0);
  return {
    regs: { ...pvh.regs, rbx: 0, rsi: zeroPage },
    sregs: { ...pvh.sregs, cs: bootSegment(BOOT_CODE64_SELECTOR), cr0: 0x8000_0011, cr3: pml4, cr4: 1 << 5, efer: 0x500 },
  };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe('kvm_regs', () => {
  it('puts the PVH entry registers where KVM reads them (rbx = start_info, rip = entry, rflags = 2)', () => {
    const bytes = new Uint8Array(KVM_REGS_SIZE).fill(0xee);
    encodeKvmRegs(bytes, pvhEntryState(0x10_0000, 0x6000).regs);
    const v = view(bytes);
    expect(v.getBigUint64(1 * 8, true)).toBe(0x6000n); // rbx
    expect(v.getBigUint64(16 * 8, true)).toBe(0x10_0000n); // rip
    expect(v.getBigUint64(17 * 8, true)).toBe(2n); // rflags
    expect(v.getBigUint64(0, true)).toBe(0n); // rax: named, so overwritten
  });

  it('keeps registers not named and round-trips 64-bit values', () => {
    const bytes = new Uint8Array(KVM_REGS_SIZE);
    view(bytes).setBigUint64(2 * 8, 0x1234n, true); // rcx
    encodeKvmRegs(bytes, { rsi: 0xffff_ffff_ffff_fff0n, rip: 0x7c00 });
    const regs = decodeKvmRegs(bytes);
    expect(regs.rcx).toBe(0x1234n);
    expect(regs.rsi).toBe(0xffff_ffff_ffff_fff0n);
    expect(regs.rip).toBe(0x7c00n);
  });

  it('refuses wrong sizes and values that are not registers', () => {
    expect(() => encodeKvmRegs(new Uint8Array(143), {})).toThrow(RangeError);
    expect(() => encodeKvmRegs(new Uint8Array(KVM_REGS_SIZE), { rax: -1 })).toThrow(RangeError);
    expect(() => encodeKvmRegs(new Uint8Array(KVM_REGS_SIZE), { rax: 1n << 64n })).toThrow(RangeError);
  });
});

describe('kvm_sregs', () => {
  it('encodes the PVH entry: flat 32-bit segments from the boot GDT, paging off, unusable LDT', () => {
    const bytes = new Uint8Array(KVM_SREGS_SIZE).fill(0x5a);
    encodeKvmSregs(bytes, pvhEntryState(0x10_0000, 0x6000).sregs);
    const v = view(bytes);
    const cs = KVM_SREGS.cs;
    expect(v.getBigUint64(cs + KVM_SEGMENT.base, true)).toBe(0n);
    expect(v.getUint32(cs + KVM_SEGMENT.limit, true)).toBe(0xffff_ffff);
    expect(v.getUint16(cs + KVM_SEGMENT.selector, true)).toBe(0x10);
    expect([cs + KVM_SEGMENT.type, cs + KVM_SEGMENT.present, cs + KVM_SEGMENT.db, cs + KVM_SEGMENT.s, cs + KVM_SEGMENT.l, cs + KVM_SEGMENT.g, cs + KVM_SEGMENT.unusable].map((o) => bytes[o])).toEqual([0xb, 1, 1, 1, 0, 1, 0]);
    for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) {
      expect(v.getUint16(KVM_SREGS[name] + KVM_SEGMENT.selector, true), name).toBe(0x18);
      expect(bytes[KVM_SREGS[name] + KVM_SEGMENT.type], name).toBe(0x3);
    }
    expect(v.getUint16(KVM_SREGS.tr + KVM_SEGMENT.selector, true)).toBe(0x20);
    expect(v.getUint32(KVM_SREGS.tr + KVM_SEGMENT.limit, true)).toBe(0x67);
    expect(bytes[KVM_SREGS.tr + KVM_SEGMENT.s]).toBe(0);
    expect(bytes.subarray(KVM_SREGS.ldt, KVM_SREGS.gdt).filter((b, i) => i !== KVM_SEGMENT.unusable && b !== 0)).toHaveLength(0);
    expect(bytes[KVM_SREGS.ldt + KVM_SEGMENT.unusable]).toBe(1);
    expect(v.getBigUint64(KVM_SREGS.gdt, true)).toBe(0x500n);
    expect(v.getBigUint64(KVM_SREGS.cr0, true)).toBe(0x11n);
    expect(v.getBigUint64(KVM_SREGS.cr4, true)).toBe(0n);
    expect(v.getBigUint64(KVM_SREGS.efer, true)).toBe(0n);
    // Not named by the boot state: KVM's values stay.
    expect(bytes.subarray(KVM_SREGS.cr2, KVM_SREGS.cr2 + 8).every((b) => b === 0x5a)).toBe(true);
    expect(bytes.subarray(KVM_SREGS.apicBase, KVM_SREGS_SIZE).every((b) => b === 0x5a)).toBe(true);
  });

  it('encodes the 64-bit Linux entry: long-mode CS, paging with PAE over the PML4, EFER.LME and LMA', () => {
    const state = linux64Entry(0x100_0200, 0x7000, 0x9000);
    const bytes = new Uint8Array(KVM_SREGS_SIZE);
    encodeKvmSregs(bytes, state.sregs);
    const v = view(bytes);
    expect(v.getUint16(KVM_SREGS.cs + KVM_SEGMENT.selector, true)).toBe(0x08);
    expect(bytes[KVM_SREGS.cs + KVM_SEGMENT.l]).toBe(1);
    expect(bytes[KVM_SREGS.cs + KVM_SEGMENT.db]).toBe(0); // L = 1 requires D = 0
    expect(v.getBigUint64(KVM_SREGS.cr0, true) & 0x8000_0001n).toBe(0x8000_0001n);
    expect(v.getBigUint64(KVM_SREGS.cr3, true)).toBe(0x9000n);
    expect(v.getBigUint64(KVM_SREGS.cr4, true) & (1n << 5n)).toBe(1n << 5n);
    expect(v.getBigUint64(KVM_SREGS.efer, true)).toBe(0x500n);
    const regs = new Uint8Array(KVM_REGS_SIZE);
    encodeKvmRegs(regs, state.regs);
    expect(decodeKvmRegs(regs).rsi).toBe(0x7000n);
  });

  it('sets EFER.LMA exactly when LME and CR0.PG are both on, as the CPU would', () => {
    expect(kvmEfer(0x100, 0x8000_0011)).toBe(0x500n);
    expect(kvmEfer(0x100, 0x11)).toBe(0x100n); // LME armed, paging off: not active yet
    expect(kvmEfer(0x400, 0x11)).toBe(0n); // a stale LMA is dropped
    expect(kvmEfer(0x800, 0x8000_0011)).toBe(0x800n); // NXE alone is kept
  });

  it('decodes back to the state it encoded', () => {
    const { sregs } = linux64Entry(0x100_0200, 0x7000, 0x9000);
    const bytes = new Uint8Array(KVM_SREGS_SIZE);
    encodeKvmSregs(bytes, sregs);
    expect(decodeKvmSregs(bytes)).toEqual(sregs);
  });

  it('refuses segments that cannot be kvm_segments', () => {
    const { sregs } = pvhEntryState(0x10_0000, 0x6000);
    const bytes = new Uint8Array(KVM_SREGS_SIZE);
    expect(() => encodeKvmSregs(bytes, { ...sregs, cs: { ...sregs.cs, type: 16 } })).toThrow(/cs.type/);
    expect(() => encodeKvmSregs(bytes, { ...sregs, ss: { ...sregs.ss, limit: 2 ** 32 } })).toThrow(/ss.limit/);
    expect(() => encodeKvmSregs(bytes, { ...sregs, gdt: { base: 0, limit: 0x10000 } })).toThrow(/gdt.limit/);
    expect(() => encodeKvmSregs(new Uint8Array(311), sregs)).toThrow(RangeError);
  });
});
