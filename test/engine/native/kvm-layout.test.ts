/**
 * The kernel ABI the TypeScript side writes as bytes: every size and offset it uses must be what the addon's
 * compiler saw in <linux/kvm.h> (which static_asserts in engine/native/src/kvm-layout.cc pin at build time).
 */
import { describe, expect, it } from 'vitest';
import * as abi from '../../../engine/src/accel/kvm/kvm-abi';
import { GENERAL_REG_NAMES } from '../../../engine/src/accel';
import { native } from '../../../engine/src/native';

describe('kvm ABI layout', () => {
  const l = native.kvmLayout;

  it('kvm_run: size, io, mmio, fail_entry, internal and system_event offsets', () => {
    expect(l.kvmRunSize).toBe(abi.KVM_RUN_SIZE);
    expect({
      immediateExit: l.kvmRunImmediateExit,
      exitReason: l.kvmRunExitReason,
      ioDirection: l.kvmRunIoDirection,
      ioSize: l.kvmRunIoSize,
      ioPort: l.kvmRunIoPort,
      ioCount: l.kvmRunIoCount,
      ioDataOffset: l.kvmRunIoDataOffset,
      mmioPhysAddr: l.kvmRunMmioPhysAddr,
      mmioData: l.kvmRunMmioData,
      mmioLen: l.kvmRunMmioLen,
      mmioIsWrite: l.kvmRunMmioIsWrite,
      failEntryReason: l.kvmRunFailEntryReason,
      failEntryCpu: l.kvmRunFailEntryCpu,
      internalSuberror: l.kvmRunInternalSuberror,
      internalNdata: l.kvmRunInternalNdata,
      internalData: l.kvmRunInternalData,
      systemEventType: l.kvmRunSystemEventType,
      systemEventNdata: l.kvmRunSystemEventNdata,
      systemEventData: l.kvmRunSystemEventData,
    }).toEqual(abi.KVM_RUN);
  });

  it('kvm_regs is the 18 registers in GENERAL_REG_NAMES order', () => {
    expect(l.kvmRegsSize).toBe(abi.KVM_REGS_SIZE);
    expect(l.kvmRegsSize).toBe(GENERAL_REG_NAMES.length * 8);
    expect(l.kvmRegsRip).toBe(GENERAL_REG_NAMES.indexOf('rip') * 8);
    expect(l.kvmRegsRflags).toBe(GENERAL_REG_NAMES.indexOf('rflags') * 8);
  });

  it('kvm_segment, kvm_dtable and kvm_sregs', () => {
    expect(l.kvmSegmentSize).toBe(abi.KVM_SEGMENT_SIZE);
    expect([l.kvmSegmentLimit, l.kvmSegmentSelector, l.kvmSegmentType, l.kvmSegmentUnusable]).toEqual([
      abi.KVM_SEGMENT.limit, abi.KVM_SEGMENT.selector, abi.KVM_SEGMENT.type, abi.KVM_SEGMENT.unusable,
    ]);
    expect([l.kvmDtableSize, l.kvmDtableLimit]).toEqual([abi.KVM_DTABLE_SIZE, abi.KVM_DTABLE_LIMIT]);
    expect(l.kvmSregsSize).toBe(abi.KVM_SREGS_SIZE);
    expect([l.kvmSregsTr, l.kvmSregsLdt, l.kvmSregsGdt, l.kvmSregsIdt, l.kvmSregsCr0, l.kvmSregsCr3, l.kvmSregsCr4, l.kvmSregsEfer, l.kvmSregsApicBase]).toEqual([
      abi.KVM_SREGS.tr, abi.KVM_SREGS.ldt, abi.KVM_SREGS.gdt, abi.KVM_SREGS.idt, abi.KVM_SREGS.cr0, abi.KVM_SREGS.cr3,
      abi.KVM_SREGS.cr4, abi.KVM_SREGS.efer, abi.KVM_SREGS.apicBase,
    ]);
    // Six segments, TR and LDT, 24 bytes each, in that order.
    expect(abi.KVM_SREGS.ldt).toBe(7 * abi.KVM_SEGMENT_SIZE);
  });

  it('kvm_cpuid_entry2, kvm_msr_entry, kvm_irq_routing_entry and the array headers', () => {
    expect([l.kvmCpuidEntry2Size, l.kvmCpuidEntry2Eax, l.kvmCpuidEntry2Edx]).toEqual([
      abi.KVM_CPUID_ENTRY2_SIZE, abi.KVM_CPUID_ENTRY2.eax, abi.KVM_CPUID_ENTRY2.edx,
    ]);
    expect([l.kvmMsrEntrySize, l.kvmMsrEntryData]).toEqual([abi.KVM_MSR_ENTRY_SIZE, abi.KVM_MSR_ENTRY_DATA]);
    expect([l.kvmIrqRoutingEntrySize, l.kvmIrqRoutingEntryU]).toEqual([abi.KVM_IRQ_ROUTING_ENTRY_SIZE, abi.KVM_IRQ_ROUTING_ENTRY.u]);
    // The kernel's arrays follow an 8-byte header (the C++ view of these flexible arrays is off; see kvm-layout.h).
    expect([l.kvmCpuid2Entries, l.kvmMsrsEntries, l.kvmIrqRoutingEntries]).toEqual([8, 8, 8]);
    expect(l.kvmUserspaceMemoryRegionSize).toBe(32);
  });

  it('KVM_EXIT_*, routing, ioeventfd and irqfd numbers match linux/kvm.h', () => {
    const n = native.kvmAbi;
    for (const name of Object.keys(n) as (keyof typeof n)[]) {
      if (name === 'KVM_MEM_READONLY') continue;
      expect((abi as Record<string, unknown>)[name], name).toBe(n[name]);
    }
  });
});
