/**
 * The guest CPUID a vCPU gets from KVM_GET_SUPPORTED_CPUID's table: what a guest kernel reads to find its APIC id,
 * the topology, that it runs under KVM, and which features it may use.
 */
import { describe, expect, it } from 'vitest';
import {
  cpuidVendor,
  decodeCpuidEntries,
  encodeCpuidEntries,
  filterCpuid,
  findCpuid,
  signatureRegisters,
  type CpuidEntry,
} from '../../../../engine/src/accel/kvm/cpuid-filter';
import { KVM_CPUID_ENTRY2_SIZE, KVM_CPUID_FLAG_SIGNIFCANT_INDEX } from '../../../../engine/src/accel/kvm/kvm-abi';
import { cpuid } from '../../../../engine/src/native';

function leaf(fn: number, regs: Partial<CpuidEntry> = {}): CpuidEntry {
  return { function: fn, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0, ...regs };
}

/** A small supported table as KVM reports it on an Intel host: vendor, features, caches, topology, PMU, KVM leaves. */
function intelTable(): CpuidEntry[] {
  const [ebx, ecx, edx] = signatureRegisters('GenuineIntel');
  const sub = (fn: number, index: number, regs: Partial<CpuidEntry>) => leaf(fn, { index, flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX, ...regs });
  return [
    // Leaf 0 holds the vendor in EBX, EDX, ECX: signatureRegisters gives EBX, ECX, EDX of a plain string.
    leaf(0, { eax: 0x1f, ebx, ecx: edx, edx: ecx }),
    leaf(1, { eax: 0x906ea, ebx: 0x0c_10_08_00 | (7 << 24), ecx: 0x7ffafbff & ~(1 << 31), edx: 0xbfebfbff }),
    sub(4, 0, { eax: 0x1c004121, ebx: 0x01c0003f, ecx: 0x3f }),
    sub(4, 3, { eax: 0x1c03c163, ebx: 0x03c0003f, ecx: 0x2fff }),
    sub(4, 4, { eax: 0 }),
    leaf(6, { eax: 0x77, ecx: 0x9 }),
    leaf(0xa, { eax: 0x07300404, ebx: 0, edx: 0x603 }),
    sub(0xb, 0, { eax: 1, ebx: 2, ecx: 0x100, edx: 5 }),
    sub(0xb, 1, { eax: 4, ebx: 12, ecx: 0x201, edx: 5 }),
    sub(0x1f, 0, { eax: 1, ebx: 2, ecx: 0x100, edx: 5 }),
    leaf(0x20, { eax: 0xdead }), // beyond the declared maximum basic leaf? no: 0x20 > 0x1f, so dropped
    leaf(0x4000_0000, { eax: 0x4000_0001, ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x4d }),
    leaf(0x4000_0001, { eax: 0x01007afb }),
    leaf(0x4000_0010, { eax: 0x1234 }), // a hypervisor leaf the guest must not see
    leaf(0x8000_0000, { eax: 0x8000_0008 }),
    leaf(0x8000_0008, { eax: 0x3027, ecx: 0 }),
    leaf(0x8000_001e, { eax: 0xbad }), // past the declared maximum extended leaf
  ];
}

describe('filterCpuid', () => {
  it('gives each vCPU its APIC id, the vCPU count, HTT and the hypervisor bit in leaf 1', () => {
    const out = filterCpuid(intelTable(), { vcpuId: 2, vcpuCount: 4 });
    const l1 = findCpuid(out, 1)!;
    expect(l1.ebx >>> 24).toBe(2);
    expect((l1.ebx >>> 16) & 0xff).toBe(4);
    expect((l1.ebx >>> 8) & 0xff).toBe(0x08); // CLFLUSH line size kept
    expect(l1.ecx >>> 31).toBe(1);
    expect((l1.edx >>> 28) & 1).toBe(1);
    const single = findCpuid(filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1 }), 1)!;
    expect((single.edx >>> 28) & 1).toBe(0);
    expect(single.ebx >>> 24).toBe(0);
  });

  it('offers the TSC-deadline timer only when asked', () => {
    expect((findCpuid(filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1 }), 1)!.ecx >>> 24) & 1).toBe(0);
    expect((findCpuid(filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1, tscDeadline: true }), 1)!.ecx >>> 24) & 1).toBe(1);
  });

  it('describes one package of vcpuCount single-thread cores in leaves 0xB and 0x1F, x2APIC id in every subleaf', () => {
    const out = filterCpuid(intelTable(), { vcpuId: 5, vcpuCount: 6 });
    for (const fn of [0xb, 0x1f]) {
      const levels = out.filter((e) => e.function === fn);
      expect(levels.map((e) => e.index)).toEqual([0, 1, 2]);
      expect(levels.every((e) => (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) !== 0)).toBe(true);
      const [smt, core, end] = levels;
      expect([smt.eax, smt.ebx, smt.ecx, smt.edx]).toEqual([0, 1, 0x100, 5]);
      expect([core.eax, core.ebx, core.ecx, core.edx]).toEqual([3, 6, 0x201, 5]); // 3 bits number 6 cores
      expect([end.eax, end.ebx, end.ecx >>> 8, end.edx]).toEqual([0, 0, 0, 5]);
    }
  });

  it('makes leaf 4 caches per core, with L3 shared by the package', () => {
    const out = filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 4 });
    const l1d = findCpuid(out, 4, 0)!;
    const l3 = findCpuid(out, 4, 3)!;
    expect(l1d.eax >>> 26).toBe(3); // cores per package - 1
    expect((l1d.eax >>> 14) & 0xfff).toBe(0); // one thread shares L1
    expect((l3.eax >>> 14) & 0xfff).toBe(3); // every vCPU shares L3
    expect(l3.eax & 0x3fff).toBe(0x1c03c163 & 0x3fff); // cache type and level untouched
    expect(findCpuid(out, 4, 4)!.eax).toBe(0);
  });

  it('hides turbo, energy bias and the PMU', () => {
    const out = filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1 });
    expect(findCpuid(out, 6)!.eax & 2).toBe(0);
    expect(findCpuid(out, 6)!.eax & 4).toBe(4); // ARAT stays
    expect(findCpuid(out, 6)!.ecx & 8).toBe(0);
    const pmu = findCpuid(out, 0xa)!;
    expect([pmu.eax, pmu.ebx, pmu.ecx, pmu.edx]).toEqual([0, 0, 0, 0]);
  });

  it('drops leaves past the declared maxima and foreign hypervisor leaves', () => {
    const fns = filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1 }).map((e) => e.function);
    expect(fns).not.toContain(0x20);
    expect(fns).not.toContain(0x4000_0010);
    expect(fns).not.toContain(0x8000_001e);
    expect(fns).toContain(0x4000_0001);
  });

  it('signs leaf 0x40000000 KVMKVMKVM by default, or with the signature given', () => {
    const kvm = findCpuid(filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1 }), 0x4000_0000)!;
    expect(Buffer.from(new Uint32Array([kvm.ebx, kvm.ecx, kvm.edx]).buffer).toString('latin1')).toBe('KVMKVMKVM\0\0\0');
    expect(kvm.eax).toBe(0x4000_0001);
    const hv = findCpuid(filterCpuid(intelTable(), { vcpuId: 0, vcpuCount: 1, hypervisorSignature: 'hv hypervisr' }), 0x4000_0000)!;
    expect(Buffer.from(new Uint32Array([hv.ebx, hv.ecx, hv.edx]).buffer).toString('latin1')).toBe('hv hypervisr');
    const none = filterCpuid(intelTable().filter((e) => e.function < 0x4000_0000 || e.function >= 0x8000_0000), { vcpuId: 0, vcpuCount: 1 });
    expect(findCpuid(none, 0x4000_0000)!.eax).toBe(0x4000_0000); // added when KVM lists none
  });

  it('numbers AMD cores in 0x80000008 and gives the extended APIC id in 0x8000001E', () => {
    const [ebx, ecx, edx] = signatureRegisters('AuthenticAMD');
    const amd = [
      leaf(0, { eax: 0x10, ebx, ecx: edx, edx: ecx }),
      leaf(1, { ebx: 0x00_08_0800 }),
      leaf(0x8000_0000, { eax: 0x8000_001e }),
      leaf(0x8000_0008, { eax: 0x3030, ecx: 0x700f }),
      leaf(0x8000_001e, { eax: 9, ebx: 0x0109, ecx: 0x0301 }),
    ];
    expect(cpuidVendor(amd)).toBe('AuthenticAMD');
    const out = filterCpuid(amd, { vcpuId: 3, vcpuCount: 4 });
    const sizes = findCpuid(out, 0x8000_0008)!;
    expect(sizes.ecx & 0xff).toBe(3);
    expect((sizes.ecx >>> 12) & 0xf).toBe(2);
    const ext = findCpuid(out, 0x8000_001e)!;
    expect(ext.eax).toBe(3);
    expect(ext.ebx & 0xffff).toBe(3); // compute unit 3, one thread per unit
    expect(ext.ecx & 0x7ff).toBe(0); // node 0, one node
  });

  it('leaves its input alone and refuses impossible topologies', () => {
    const table = intelTable();
    const before = JSON.stringify(table);
    filterCpuid(table, { vcpuId: 1, vcpuCount: 2 });
    expect(JSON.stringify(table)).toBe(before);
    expect(() => filterCpuid(table, { vcpuId: 2, vcpuCount: 2 })).toThrow(RangeError);
    expect(() => filterCpuid(table, { vcpuId: 0, vcpuCount: 255 })).toThrow(RangeError);
    expect(() => filterCpuid(table, { vcpuId: 0, vcpuCount: 1, hypervisorSignature: 'thirteen char' })).toThrow(RangeError);
  });

  it('works on this host CPU\'s own leaves, as KVM would report them', () => {
    const [maxBasic] = cpuid(0);
    const host: CpuidEntry[] = [];
    for (let fn = 0; fn <= Math.min(maxBasic, 0x1f); fn++) {
      const [eax, ebx, ecx, edx] = cpuid(fn, 0);
      host.push(leaf(fn, { eax, ebx, ecx, edx }));
    }
    const out = filterCpuid(host, { vcpuId: 0, vcpuCount: 2 });
    expect(cpuidVendor(out)).toBe(cpuidVendor(host));
    expect(findCpuid(out, 1)!.ecx >>> 31).toBe(1);
    expect(findCpuid(out, 0x4000_0000)).toBeDefined();
  });
});

describe('kvm_cpuid_entry2 bytes', () => {
  it('encodes 40 bytes per entry at the kernel offsets and decodes them back', () => {
    const entries = [leaf(0xb, { index: 1, flags: 1, eax: 1, ebx: 2, ecx: 0x201, edx: 0xffff_ffff })];
    const bytes = encodeCpuidEntries(entries);
    expect(bytes.byteLength).toBe(KVM_CPUID_ENTRY2_SIZE);
    const v = new DataView(bytes.buffer);
    expect([0, 4, 8, 12, 16, 20, 24].map((o) => v.getUint32(o, true))).toEqual([0xb, 1, 1, 1, 2, 0x201, 0xffff_ffff]);
    expect(decodeCpuidEntries(bytes)).toEqual(entries);
    expect(() => decodeCpuidEntries(new Uint8Array(41))).toThrow(RangeError);
    expect(() => encodeCpuidEntries([leaf(1, { eax: -1 })])).toThrow(RangeError);
  });
});
