/**
 * kvm_regs and kvm_sregs as bytes: the boot state computed once in engine/src/boot (BootCpuState, for the PVH,
 * raw and 64-bit Linux entries) written over what KVM_GET_REGS/KVM_GET_SREGS returned, so fields the boot state
 * does not name (cr2, cr8, APIC base, pending interrupts) keep KVM's values.
 *
 * kvm_sregs rules applied here (the kernel rejects or misreads the state otherwise):
 *   - every segment named is usable (unusable = 0) and its hidden state is exactly the boot GDT's descriptor;
 *   - the LDT is unused: selector 0, unusable = 1 (VMX entry checks skip an unusable LDTR);
 *   - EFER.LMA follows EFER.LME with CR0.PG, as the CPU sets it: kvm_sregs carries it, and KVM refuses a
 *     long-mode state without it.
 */
import type { DescriptorTable, Segment, SpecialRegisters } from '../../boot/cpu-state';
import { GENERAL_REG_NAMES, type GeneralRegs, type GeneralRegsInput, type SpecialRegs } from '../accelerator';
import {
  KVM_DTABLE_LIMIT,
  KVM_REGS_SIZE,
  KVM_SEGMENT,
  KVM_SREGS,
  KVM_SREGS_SIZE,
} from './kvm-abi';

/** CR0.PG: paging. */
const CR0_PG = 0x8000_0000n;
/** EFER.LME: long mode enable. */
const EFER_LME = 1n << 8n;
/** EFER.LMA: long mode active. */
const EFER_LMA = 1n << 10n;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT32 = 0xffff_ffff;
const MAX_UINT16 = 0xffff;
const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss'] as const;

function view(bytes: Uint8Array, size: number, what: string): DataView {
  if (bytes.byteLength !== size) throw new RangeError(`${what} must be ${size} bytes, got ${bytes.byteLength}`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toU64(name: string, value: bigint | number): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} ${value} is not a safe non-negative integer`);
    return BigInt(value);
  }
  if (value < 0n || value > MAX_UINT64) throw new RangeError(`${name} ${value} does not fit 64 bits`);
  return value;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is not in 0..${max}`);
}

/** Writes the named registers into kvm_regs bytes (144), leaving the others as they are. */
export function encodeKvmRegs(bytes: Uint8Array, regs: GeneralRegsInput): void {
  const v = view(bytes, KVM_REGS_SIZE, 'kvm_regs');
  GENERAL_REG_NAMES.forEach((name, i) => {
    const value = regs[name];
    if (value !== undefined) v.setBigUint64(i * 8, toU64(name, value), true);
  });
}

/** Reads kvm_regs bytes. */
export function decodeKvmRegs(bytes: Uint8Array): GeneralRegs {
  const v = view(bytes, KVM_REGS_SIZE, 'kvm_regs');
  const out = {} as GeneralRegs;
  GENERAL_REG_NAMES.forEach((name, i) => {
    out[name] = v.getBigUint64(i * 8, true);
  });
  return out;
}

function writeSegment(v: DataView, at: number, name: string, segment: Segment): void {
  checkUint(`${name}.selector`, segment.selector, MAX_UINT16);
  checkUint(`${name}.limit`, segment.limit, MAX_UINT32);
  for (const field of ['type', 'present', 'dpl', 'db', 's', 'l', 'g'] as const) {
    checkUint(`${name}.${field}`, segment[field], field === 'type' ? 0xf : field === 'dpl' ? 3 : 1);
  }
  v.setBigUint64(at + KVM_SEGMENT.base, toU64(`${name}.base`, segment.base), true);
  v.setUint32(at + KVM_SEGMENT.limit, segment.limit, true);
  v.setUint16(at + KVM_SEGMENT.selector, segment.selector, true);
  v.setUint8(at + KVM_SEGMENT.type, segment.type);
  v.setUint8(at + KVM_SEGMENT.present, segment.present);
  v.setUint8(at + KVM_SEGMENT.dpl, segment.dpl);
  v.setUint8(at + KVM_SEGMENT.db, segment.db);
  v.setUint8(at + KVM_SEGMENT.s, segment.s);
  v.setUint8(at + KVM_SEGMENT.l, segment.l);
  v.setUint8(at + KVM_SEGMENT.g, segment.g);
  v.setUint8(at + KVM_SEGMENT.avl, 0);
  v.setUint8(at + KVM_SEGMENT.unusable, 0);
}

function readSegment(v: DataView, at: number): Segment {
  const bit = (offset: number): 0 | 1 => (v.getUint8(at + offset) ? 1 : 0);
  return {
    selector: v.getUint16(at + KVM_SEGMENT.selector, true),
    base: Number(v.getBigUint64(at + KVM_SEGMENT.base, true)),
    limit: v.getUint32(at + KVM_SEGMENT.limit, true),
    type: v.getUint8(at + KVM_SEGMENT.type),
    present: bit(KVM_SEGMENT.present),
    dpl: v.getUint8(at + KVM_SEGMENT.dpl),
    db: bit(KVM_SEGMENT.db),
    s: bit(KVM_SEGMENT.s),
    l: bit(KVM_SEGMENT.l),
    g: bit(KVM_SEGMENT.g),
  };
}

function writeDtable(v: DataView, at: number, name: string, table: DescriptorTable): void {
  checkUint(`${name}.limit`, table.limit, MAX_UINT16);
  v.setBigUint64(at, toU64(`${name}.base`, table.base), true);
  v.setUint16(at + KVM_DTABLE_LIMIT, table.limit, true);
}

/** EFER as kvm_sregs must hold it: LMA set exactly when LME and CR0.PG are. */
export function kvmEfer(efer: number, cr0: number): bigint {
  const value = toU64('efer', efer) & ~EFER_LMA;
  const longMode = (value & EFER_LME) !== 0n && (toU64('cr0', cr0) & CR0_PG) !== 0n;
  return longMode ? value | EFER_LMA : value;
}

/** Writes the boot-state special registers into kvm_sregs bytes (312), leaving cr2, cr8, APIC base and the
 *  interrupt bitmap as they are; TR is kept when not given. */
export function encodeKvmSregs(bytes: Uint8Array, sregs: SpecialRegs): void {
  const v = view(bytes, KVM_SREGS_SIZE, 'kvm_sregs');
  for (const name of SEGMENT_NAMES) writeSegment(v, KVM_SREGS[name], name, sregs[name]);
  if (sregs.tr !== undefined) writeSegment(v, KVM_SREGS.tr, 'tr', sregs.tr);
  // The LDT: no segment (selector 0, unusable), whatever KVM had.
  new Uint8Array(bytes.buffer, bytes.byteOffset + KVM_SREGS.ldt, KVM_SREGS.gdt - KVM_SREGS.ldt).fill(0);
  v.setUint8(KVM_SREGS.ldt + KVM_SEGMENT.unusable, 1);
  writeDtable(v, KVM_SREGS.gdt, 'gdt', sregs.gdt);
  writeDtable(v, KVM_SREGS.idt, 'idt', sregs.idt);
  v.setBigUint64(KVM_SREGS.cr0, toU64('cr0', sregs.cr0), true);
  v.setBigUint64(KVM_SREGS.cr3, toU64('cr3', sregs.cr3), true);
  v.setBigUint64(KVM_SREGS.cr4, toU64('cr4', sregs.cr4), true);
  v.setBigUint64(KVM_SREGS.efer, kvmEfer(sregs.efer, sregs.cr0), true);
}

/** Reads kvm_sregs bytes back into the boot-state shape (control registers below 2^53, as boot code uses). */
export function decodeKvmSregs(bytes: Uint8Array): SpecialRegisters {
  const v = view(bytes, KVM_SREGS_SIZE, 'kvm_sregs');
  const u64 = (at: number): number => Number(v.getBigUint64(at, true));
  const dtable = (at: number): DescriptorTable => ({ base: u64(at), limit: v.getUint16(at + KVM_DTABLE_LIMIT, true) });
  return {
    cs: readSegment(v, KVM_SREGS.cs),
    ds: readSegment(v, KVM_SREGS.ds),
    es: readSegment(v, KVM_SREGS.es),
    fs: readSegment(v, KVM_SREGS.fs),
    gs: readSegment(v, KVM_SREGS.gs),
    ss: readSegment(v, KVM_SREGS.ss),
    tr: readSegment(v, KVM_SREGS.tr),
    gdt: dtable(KVM_SREGS.gdt),
    idt: dtable(KVM_SREGS.idt),
    cr0: u64(KVM_SREGS.cr0),
    cr3: u64(KVM_SREGS.cr3),
    cr4: u64(KVM_SREGS.cr4),
    efer: u64(KVM_SREGS.efer),
  };
}
