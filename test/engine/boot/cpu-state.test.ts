import { describe, expect, it } from 'vitest';
import { BootSetupError } from '../../../engine/src/boot/boot-setup-error';
import { pvhEntryState, rawEntryState } from '../../../engine/src/boot/cpu-state';

const flatCode = { base: 0, limit: 0xffff_ffff, type: 0xb, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1 };
const flatData = { base: 0, limit: 0xffff_ffff, type: 0x3, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1 };

describe('boot CPU state', () => {
  it('enters PVH in flat 32-bit protected mode with %ebx = start_info (Xen x86/HVM direct boot ABI)', () => {
    const { regs, sregs } = pvhEntryState(0x100000, 0x6000);
    expect(regs).toEqual({
      rax: 0, rbx: 0x6000, rcx: 0, rdx: 0, rsi: 0, rdi: 0, rsp: 0, rbp: 0,
      r8: 0, r9: 0, r10: 0, r11: 0, r12: 0, r13: 0, r14: 0, r15: 0,
      rip: 0x100000, rflags: 0x2,
    });
    expect(sregs.cr0 & 1).toBe(1); // PE
    expect(sregs.cr0 & 0x8000_0000).toBe(0); // PG
    expect(sregs.cr0).toBe(0x11); // PE | ET, every other writable bit clear
    expect(sregs.cr4).toBe(0);
    expect(sregs.cr3).toBe(0);
    expect(sregs.efer).toBe(0);
    expect(sregs.cs).toMatchObject(flatCode);
    for (const name of ['ds', 'es', 'fs', 'gs', 'ss'] as const) expect(sregs[name], name).toMatchObject(flatData);
    expect(sregs.tr).toMatchObject({ base: 0, limit: 0x67, type: 0xb, s: 0, present: 1 });
    expect(regs.rflags & ((1 << 9) | (1 << 8) | (1 << 17))).toBe(0); // IF, TF, VM clear
  });

  it('enters raw images in the same mode with %ebx = 0', () => {
    const raw = rawEntryState(0x100000);
    const pvh = pvhEntryState(0x100000, 0x6000);
    expect(raw.sregs).toEqual(pvh.sregs);
    expect(raw.regs).toEqual({ ...pvh.regs, rbx: 0 });
  });

  it('returns independent objects each time', () => {
    const first = rawEntryState(0x100000);
    first.sregs.cs.base = 0x1234;
    first.regs.rsp = 1;
    expect(rawEntryState(0x100000).sregs.cs.base).toBe(0);
    expect(rawEntryState(0x100000).regs.rsp).toBe(0);
  });

  it('rejects entries a 32-bit entry cannot reach', () => {
    expect(() => pvhEntryState(0x1_0000_0000, 0x6000)).toThrow(BootSetupError);
    expect(() => rawEntryState(-1)).toThrow(/raw entry -1 is not a 32-bit physical address/);
    expect(() => pvhEntryState(0x100000, 1.5)).toThrow(/start_info address/);
  });
});
