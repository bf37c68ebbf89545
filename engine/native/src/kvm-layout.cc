#include "kvm-layout.h"

#include <linux/kvm.h>

#include <cstddef>

namespace hv {

// The pinned numbers: the TypeScript constants in engine/src/accel/kvm/kvm-abi.ts are these values.
#define HV_PIN_SIZE(type, size) static_assert(sizeof(struct type) == (size), #type " size changed")
#define HV_PIN_OFFSET(type, member, off) static_assert(offsetof(struct type, member) == (off), #type "." #member " moved")

HV_PIN_SIZE(kvm_run, 2352);
HV_PIN_OFFSET(kvm_run, request_interrupt_window, 0);
HV_PIN_OFFSET(kvm_run, immediate_exit, 1);
HV_PIN_OFFSET(kvm_run, exit_reason, 8);
HV_PIN_OFFSET(kvm_run, ready_for_interrupt_injection, 12);
HV_PIN_OFFSET(kvm_run, if_flag, 13);
HV_PIN_OFFSET(kvm_run, cr8, 16);
HV_PIN_OFFSET(kvm_run, apic_base, 24);
HV_PIN_OFFSET(kvm_run, io.direction, 32);
HV_PIN_OFFSET(kvm_run, io.size, 33);
HV_PIN_OFFSET(kvm_run, io.port, 34);
HV_PIN_OFFSET(kvm_run, io.count, 36);
HV_PIN_OFFSET(kvm_run, io.data_offset, 40);
HV_PIN_OFFSET(kvm_run, mmio.phys_addr, 32);
HV_PIN_OFFSET(kvm_run, mmio.data, 40);
HV_PIN_OFFSET(kvm_run, mmio.len, 48);
HV_PIN_OFFSET(kvm_run, mmio.is_write, 52);
HV_PIN_OFFSET(kvm_run, fail_entry.hardware_entry_failure_reason, 32);
HV_PIN_OFFSET(kvm_run, fail_entry.cpu, 40);
HV_PIN_OFFSET(kvm_run, internal.suberror, 32);
HV_PIN_OFFSET(kvm_run, internal.ndata, 36);
HV_PIN_OFFSET(kvm_run, internal.data, 40);
HV_PIN_OFFSET(kvm_run, system_event.type, 32);
HV_PIN_OFFSET(kvm_run, system_event.ndata, 36);
HV_PIN_OFFSET(kvm_run, system_event.data, 40);
HV_PIN_OFFSET(kvm_run, s, 304);
static_assert(sizeof(((struct kvm_run*)nullptr)->mmio.data) == 8, "kvm_run.mmio.data is 8 bytes");
static_assert(sizeof(((struct kvm_run*)nullptr)->internal.data) / sizeof(__u64) == 16, "kvm_run.internal.data has 16 words");

HV_PIN_SIZE(kvm_regs, 144);
HV_PIN_OFFSET(kvm_regs, rax, 0);
HV_PIN_OFFSET(kvm_regs, rsp, 48);
HV_PIN_OFFSET(kvm_regs, r8, 64);
HV_PIN_OFFSET(kvm_regs, rip, 128);
HV_PIN_OFFSET(kvm_regs, rflags, 136);

HV_PIN_SIZE(kvm_segment, 24);
HV_PIN_OFFSET(kvm_segment, base, 0);
HV_PIN_OFFSET(kvm_segment, limit, 8);
HV_PIN_OFFSET(kvm_segment, selector, 12);
HV_PIN_OFFSET(kvm_segment, type, 14);
HV_PIN_OFFSET(kvm_segment, present, 15);
HV_PIN_OFFSET(kvm_segment, dpl, 16);
HV_PIN_OFFSET(kvm_segment, db, 17);
HV_PIN_OFFSET(kvm_segment, s, 18);
HV_PIN_OFFSET(kvm_segment, l, 19);
HV_PIN_OFFSET(kvm_segment, g, 20);
HV_PIN_OFFSET(kvm_segment, avl, 21);
HV_PIN_OFFSET(kvm_segment, unusable, 22);

HV_PIN_SIZE(kvm_dtable, 16);
HV_PIN_OFFSET(kvm_dtable, base, 0);
HV_PIN_OFFSET(kvm_dtable, limit, 8);

HV_PIN_SIZE(kvm_sregs, 312);
HV_PIN_OFFSET(kvm_sregs, cs, 0);
HV_PIN_OFFSET(kvm_sregs, ds, 24);
HV_PIN_OFFSET(kvm_sregs, es, 48);
HV_PIN_OFFSET(kvm_sregs, fs, 72);
HV_PIN_OFFSET(kvm_sregs, gs, 96);
HV_PIN_OFFSET(kvm_sregs, ss, 120);
HV_PIN_OFFSET(kvm_sregs, tr, 144);
HV_PIN_OFFSET(kvm_sregs, ldt, 168);
HV_PIN_OFFSET(kvm_sregs, gdt, 192);
HV_PIN_OFFSET(kvm_sregs, idt, 208);
HV_PIN_OFFSET(kvm_sregs, cr0, 224);
HV_PIN_OFFSET(kvm_sregs, cr2, 232);
HV_PIN_OFFSET(kvm_sregs, cr3, 240);
HV_PIN_OFFSET(kvm_sregs, cr4, 248);
HV_PIN_OFFSET(kvm_sregs, cr8, 256);
HV_PIN_OFFSET(kvm_sregs, efer, 264);
HV_PIN_OFFSET(kvm_sregs, apic_base, 272);
HV_PIN_OFFSET(kvm_sregs, interrupt_bitmap, 280);

HV_PIN_SIZE(kvm_cpuid_entry2, 40);
HV_PIN_OFFSET(kvm_cpuid_entry2, function, 0);
HV_PIN_OFFSET(kvm_cpuid_entry2, index, 4);
HV_PIN_OFFSET(kvm_cpuid_entry2, flags, 8);
HV_PIN_OFFSET(kvm_cpuid_entry2, eax, 12);
HV_PIN_OFFSET(kvm_cpuid_entry2, ebx, 16);
HV_PIN_OFFSET(kvm_cpuid_entry2, ecx, 20);
HV_PIN_OFFSET(kvm_cpuid_entry2, edx, 24);
HV_PIN_OFFSET(kvm_cpuid2, nent, 0);

HV_PIN_SIZE(kvm_msr_entry, 16);
HV_PIN_OFFSET(kvm_msr_entry, index, 0);
HV_PIN_OFFSET(kvm_msr_entry, data, 8);
HV_PIN_OFFSET(kvm_msrs, nmsrs, 0);
HV_PIN_OFFSET(kvm_msr_list, nmsrs, 0);

HV_PIN_SIZE(kvm_irq_routing_entry, 48);
HV_PIN_OFFSET(kvm_irq_routing_entry, gsi, 0);
HV_PIN_OFFSET(kvm_irq_routing_entry, type, 4);
HV_PIN_OFFSET(kvm_irq_routing_entry, flags, 8);
HV_PIN_OFFSET(kvm_irq_routing_entry, u, 16);
HV_PIN_OFFSET(kvm_irq_routing_entry, u.msi.address_lo, 16);
HV_PIN_OFFSET(kvm_irq_routing_entry, u.msi.address_hi, 20);
HV_PIN_OFFSET(kvm_irq_routing_entry, u.msi.data, 24);
HV_PIN_OFFSET(kvm_irq_routing_entry, u.irqchip.irqchip, 16);
HV_PIN_OFFSET(kvm_irq_routing_entry, u.irqchip.pin, 20);
HV_PIN_OFFSET(kvm_irq_routing, nr, 0);
HV_PIN_OFFSET(kvm_irq_routing, flags, 4);
HV_PIN_OFFSET(kvm_signal_mask, len, 0);
// The trailing arrays (see kvm-layout.h) follow the 8-byte aligned entries or the u32 headers.
static_assert(kKvmCpuid2Entries == 2 * sizeof(__u32) && alignof(struct kvm_cpuid_entry2) <= 8, "kvm_cpuid2 entries");
static_assert(kKvmMsrsEntries == 2 * sizeof(__u32) && alignof(struct kvm_msr_entry) == 8, "kvm_msrs entries");
static_assert(kKvmIrqRoutingEntries == 2 * sizeof(__u32) && alignof(struct kvm_irq_routing_entry) == 8, "kvm_irq_routing entries");
static_assert(kKvmMsrListIndices == sizeof(__u32) && kKvmSignalMaskSigset == sizeof(__u32), "u32-headed arrays");

HV_PIN_SIZE(kvm_userspace_memory_region, 32);
HV_PIN_OFFSET(kvm_userspace_memory_region, slot, 0);
HV_PIN_OFFSET(kvm_userspace_memory_region, flags, 4);
HV_PIN_OFFSET(kvm_userspace_memory_region, guest_phys_addr, 8);
HV_PIN_OFFSET(kvm_userspace_memory_region, memory_size, 16);
HV_PIN_OFFSET(kvm_userspace_memory_region, userspace_addr, 24);

HV_PIN_SIZE(kvm_ioeventfd, 64);
HV_PIN_SIZE(kvm_irqfd, 32);
HV_PIN_SIZE(kvm_pit_config, 64);
HV_PIN_SIZE(kvm_irq_level, 8);

#undef HV_PIN_SIZE
#undef HV_PIN_OFFSET

Napi::Object KvmLayout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* name, size_t value) { o.Set(name, Napi::Number::New(env, static_cast<double>(value))); };
  set("kvmRunSize", sizeof(struct kvm_run));
  set("kvmRunImmediateExit", offsetof(struct kvm_run, immediate_exit));
  set("kvmRunExitReason", offsetof(struct kvm_run, exit_reason));
  set("kvmRunIoDirection", offsetof(struct kvm_run, io.direction));
  set("kvmRunIoSize", offsetof(struct kvm_run, io.size));
  set("kvmRunIoPort", offsetof(struct kvm_run, io.port));
  set("kvmRunIoCount", offsetof(struct kvm_run, io.count));
  set("kvmRunIoDataOffset", offsetof(struct kvm_run, io.data_offset));
  set("kvmRunMmioPhysAddr", offsetof(struct kvm_run, mmio.phys_addr));
  set("kvmRunMmioData", offsetof(struct kvm_run, mmio.data));
  set("kvmRunMmioLen", offsetof(struct kvm_run, mmio.len));
  set("kvmRunMmioIsWrite", offsetof(struct kvm_run, mmio.is_write));
  set("kvmRunFailEntryReason", offsetof(struct kvm_run, fail_entry.hardware_entry_failure_reason));
  set("kvmRunFailEntryCpu", offsetof(struct kvm_run, fail_entry.cpu));
  set("kvmRunInternalSuberror", offsetof(struct kvm_run, internal.suberror));
  set("kvmRunInternalNdata", offsetof(struct kvm_run, internal.ndata));
  set("kvmRunInternalData", offsetof(struct kvm_run, internal.data));
  set("kvmRunSystemEventType", offsetof(struct kvm_run, system_event.type));
  set("kvmRunSystemEventNdata", offsetof(struct kvm_run, system_event.ndata));
  set("kvmRunSystemEventData", offsetof(struct kvm_run, system_event.data));
  set("kvmRegsSize", sizeof(struct kvm_regs));
  set("kvmRegsRip", offsetof(struct kvm_regs, rip));
  set("kvmRegsRflags", offsetof(struct kvm_regs, rflags));
  set("kvmSegmentSize", sizeof(struct kvm_segment));
  set("kvmSegmentLimit", offsetof(struct kvm_segment, limit));
  set("kvmSegmentSelector", offsetof(struct kvm_segment, selector));
  set("kvmSegmentType", offsetof(struct kvm_segment, type));
  set("kvmSegmentUnusable", offsetof(struct kvm_segment, unusable));
  set("kvmDtableSize", sizeof(struct kvm_dtable));
  set("kvmDtableLimit", offsetof(struct kvm_dtable, limit));
  set("kvmSregsSize", sizeof(struct kvm_sregs));
  set("kvmSregsTr", offsetof(struct kvm_sregs, tr));
  set("kvmSregsLdt", offsetof(struct kvm_sregs, ldt));
  set("kvmSregsGdt", offsetof(struct kvm_sregs, gdt));
  set("kvmSregsIdt", offsetof(struct kvm_sregs, idt));
  set("kvmSregsCr0", offsetof(struct kvm_sregs, cr0));
  set("kvmSregsCr3", offsetof(struct kvm_sregs, cr3));
  set("kvmSregsCr4", offsetof(struct kvm_sregs, cr4));
  set("kvmSregsEfer", offsetof(struct kvm_sregs, efer));
  set("kvmSregsApicBase", offsetof(struct kvm_sregs, apic_base));
  set("kvmCpuidEntry2Size", sizeof(struct kvm_cpuid_entry2));
  set("kvmCpuidEntry2Eax", offsetof(struct kvm_cpuid_entry2, eax));
  set("kvmCpuidEntry2Edx", offsetof(struct kvm_cpuid_entry2, edx));
  set("kvmMsrEntrySize", sizeof(struct kvm_msr_entry));
  set("kvmMsrEntryData", offsetof(struct kvm_msr_entry, data));
  set("kvmIrqRoutingEntrySize", sizeof(struct kvm_irq_routing_entry));
  set("kvmIrqRoutingEntryU", offsetof(struct kvm_irq_routing_entry, u));
  set("kvmIrqRoutingEntries", kKvmIrqRoutingEntries);
  set("kvmCpuid2Entries", kKvmCpuid2Entries);
  set("kvmMsrsEntries", kKvmMsrsEntries);
  set("kvmUserspaceMemoryRegionSize", sizeof(struct kvm_userspace_memory_region));
  return o;
}

Napi::Object KvmAbiNumbers(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
#define HV_EXPORT_CONSTANT(name) o.Set(#name, Napi::Number::New(env, name))
  HV_EXPORT_CONSTANT(KVM_EXIT_UNKNOWN);
  HV_EXPORT_CONSTANT(KVM_EXIT_IO);
  HV_EXPORT_CONSTANT(KVM_EXIT_HLT);
  HV_EXPORT_CONSTANT(KVM_EXIT_MMIO);
  HV_EXPORT_CONSTANT(KVM_EXIT_SHUTDOWN);
  HV_EXPORT_CONSTANT(KVM_EXIT_FAIL_ENTRY);
  HV_EXPORT_CONSTANT(KVM_EXIT_INTR);
  HV_EXPORT_CONSTANT(KVM_EXIT_INTERNAL_ERROR);
  HV_EXPORT_CONSTANT(KVM_EXIT_SYSTEM_EVENT);
  HV_EXPORT_CONSTANT(KVM_EXIT_IO_IN);
  HV_EXPORT_CONSTANT(KVM_EXIT_IO_OUT);
  HV_EXPORT_CONSTANT(KVM_SYSTEM_EVENT_SHUTDOWN);
  HV_EXPORT_CONSTANT(KVM_SYSTEM_EVENT_RESET);
  HV_EXPORT_CONSTANT(KVM_SYSTEM_EVENT_CRASH);
  HV_EXPORT_CONSTANT(KVM_INTERNAL_ERROR_EMULATION);
  HV_EXPORT_CONSTANT(KVM_IRQ_ROUTING_IRQCHIP);
  HV_EXPORT_CONSTANT(KVM_IRQ_ROUTING_MSI);
  HV_EXPORT_CONSTANT(KVM_IRQCHIP_PIC_MASTER);
  HV_EXPORT_CONSTANT(KVM_IRQCHIP_PIC_SLAVE);
  HV_EXPORT_CONSTANT(KVM_IRQCHIP_IOAPIC);
  HV_EXPORT_CONSTANT(KVM_IOEVENTFD_FLAG_DATAMATCH);
  HV_EXPORT_CONSTANT(KVM_IOEVENTFD_FLAG_PIO);
  HV_EXPORT_CONSTANT(KVM_IOEVENTFD_FLAG_DEASSIGN);
  HV_EXPORT_CONSTANT(KVM_IRQFD_FLAG_DEASSIGN);
  HV_EXPORT_CONSTANT(KVM_PIT_SPEAKER_DUMMY);
  HV_EXPORT_CONSTANT(KVM_MEM_READONLY);
#undef HV_EXPORT_CONSTANT
  return o;
}

}  // namespace hv
