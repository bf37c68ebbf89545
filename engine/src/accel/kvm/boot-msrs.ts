/**
 * The MSRs a vCPU starts with (as Firecracker's boot MSR list): syscall/sysenter entry points cleared, the TSC at 0,
 * fast string operations enabled, and MTRRs on with write-back as the default memory type (without it Linux maps
 * all RAM uncached). Only MSRs KVM lists in KVM_GET_MSR_INDEX_LIST are set, so KVM_SET_MSRS sets all of them.
 */
import { KVM_MSR_ENTRY_DATA, KVM_MSR_ENTRY_SIZE } from './kvm-abi';

export interface MsrEntry {
  index: number;
  data: bigint;
}

/** IA32_TSC: the time-stamp counter. */
export const MSR_IA32_TSC = 0x10;
/** IA32_SYSENTER_CS, _ESP, _EIP: the 32-bit fast system call entry. */
export const MSR_IA32_SYSENTER_CS = 0x174;
export const MSR_IA32_SYSENTER_ESP = 0x175;
export const MSR_IA32_SYSENTER_EIP = 0x176;
/** IA32_MISC_ENABLE. */
export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** IA32_MISC_ENABLE bit 0: fast string operations (rep movs/stos in cache-line chunks). */
export const MISC_ENABLE_FAST_STRING = 1n;
/** IA32_MTRR_DEF_TYPE: default memory type and MTRR enable. */
export const MSR_MTRR_DEF_TYPE = 0x2ff;
/** MTRR_DEF_TYPE bit 11: MTRRs enabled. */
export const MTRR_ENABLE = 1n << 11n;
/** Memory type write-back. */
export const MTRR_MEM_TYPE_WB = 6n;
/** STAR, LSTAR, CSTAR, SFMASK: the 64-bit syscall entry. */
export const MSR_STAR = 0xc000_0081;
export const MSR_LSTAR = 0xc000_0082;
export const MSR_CSTAR = 0xc000_0083;
export const MSR_SYSCALL_MASK = 0xc000_0084;
/** KERNEL_GS_BASE: swapgs's other GS base. */
export const MSR_KERNEL_GS_BASE = 0xc000_0102;

/** The boot MSR list; with `supported` (KVM_GET_MSR_INDEX_LIST), only the MSRs KVM handles. */
export function bootMsrEntries(supported?: Iterable<number>): MsrEntry[] {
  const entries: MsrEntry[] = [
    { index: MSR_IA32_SYSENTER_CS, data: 0n },
    { index: MSR_IA32_SYSENTER_ESP, data: 0n },
    { index: MSR_IA32_SYSENTER_EIP, data: 0n },
    { index: MSR_STAR, data: 0n },
    { index: MSR_CSTAR, data: 0n },
    { index: MSR_KERNEL_GS_BASE, data: 0n },
    { index: MSR_SYSCALL_MASK, data: 0n },
    { index: MSR_LSTAR, data: 0n },
    { index: MSR_IA32_TSC, data: 0n },
    { index: MSR_IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
    { index: MSR_MTRR_DEF_TYPE, data: MTRR_ENABLE | MTRR_MEM_TYPE_WB },
  ];
  if (supported === undefined) return entries;
  const known = new Set(supported);
  return entries.filter((e) => known.has(e.index));
}

/** kvm_msr_entry bytes (16 each) for KVM_SET_MSRS / KVM_GET_MSRS. */
export function encodeMsrEntries(entries: readonly MsrEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * KVM_MSR_ENTRY_SIZE);
  const v = new DataView(bytes.buffer);
  entries.forEach((e, i) => {
    if (!Number.isInteger(e.index) || e.index < 0 || e.index > 0xffff_ffff) throw new RangeError(`MSR index ${e.index} is not a u32`);
    if (e.data < 0n || e.data >= 1n << 64n) throw new RangeError(`MSR 0x${e.index.toString(16)} data ${e.data} does not fit 64 bits`);
    v.setUint32(i * KVM_MSR_ENTRY_SIZE, e.index, true);
    v.setBigUint64(i * KVM_MSR_ENTRY_SIZE + KVM_MSR_ENTRY_DATA, e.data, true);
  });
  return bytes;
}

/** Reads kvm_msr_entry bytes (as KVM_GET_MSRS filled them). */
export function decodeMsrEntries(bytes: Uint8Array): MsrEntry[] {
  if (bytes.byteLength % KVM_MSR_ENTRY_SIZE !== 0) throw new RangeError(`${bytes.byteLength} bytes are not whole kvm_msr_entry`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: MsrEntry[] = [];
  for (let at = 0; at < bytes.byteLength; at += KVM_MSR_ENTRY_SIZE) {
    out.push({ index: v.getUint32(at, true), data: v.getBigUint64(at + KVM_MSR_ENTRY_DATA, true) });
  }
  return out;
}
