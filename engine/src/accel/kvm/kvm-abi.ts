/**
 * The kernel ABI the KVM path reads and writes as bytes: sizes and offsets of the <linux/kvm.h> structures (x86-64),
 * and the KVM_* numbers it interprets. engine/native/src/kvm-layout.cc pins the same numbers with static_assert,
 * and test/engine/native/kvm-layout.test.ts checks these against what the addon's compiler saw.
 */

/** sizeof(struct kvm_run): the fixed part of the vCPU mapping (the rest of the mmap holds the PIO data page). */
export const KVM_RUN_SIZE = 2352;

/** Offsets in struct kvm_run. */
export const KVM_RUN = {
  /** u8: non-zero makes the next KVM_RUN return EINTR at once (pause without a race). */
  immediateExit: 1,
  /** u32: KVM_EXIT_*. */
  exitReason: 8,
  /** u8: KVM_EXIT_IO_IN or KVM_EXIT_IO_OUT. */
  ioDirection: 32,
  /** u8: bytes per I/O item (1, 2, 4). */
  ioSize: 33,
  /** u16: port. */
  ioPort: 34,
  /** u32: items (more than 1 for rep ins/outs). */
  ioCount: 36,
  /** u64: where the items are, from the start of the kvm_run mapping. */
  ioDataOffset: 40,
  /** u64: guest-physical address of the MMIO access. */
  mmioPhysAddr: 32,
  /** u8[8]: the bytes written, or where the answer to a read goes. */
  mmioData: 40,
  /** u32: access length (1..8). */
  mmioLen: 48,
  /** u8: 1 for a store. */
  mmioIsWrite: 52,
  /** u64: VMX/SVM reason the entry failed. */
  failEntryReason: 32,
  /** u32: the CPU it failed on. */
  failEntryCpu: 40,
  /** u32: KVM_INTERNAL_ERROR_*. */
  internalSuberror: 32,
  /** u32: valid words in internalData. */
  internalNdata: 36,
  /** u64[16]: sub-error details. */
  internalData: 40,
  /** u32: KVM_SYSTEM_EVENT_*. */
  systemEventType: 32,
  /** u32: valid words in systemEventData. */
  systemEventNdata: 36,
  /** u64[16]: event details. */
  systemEventData: 40,
} as const;

/** Words in kvm_run.internal.data and system_event.data. */
export const KVM_RUN_DATA_WORDS = 16;

/** sizeof(struct kvm_regs): 18 u64 in GENERAL_REG_NAMES order (rax ... r15, rip, rflags). */
export const KVM_REGS_SIZE = 144;

/** sizeof(struct kvm_segment). */
export const KVM_SEGMENT_SIZE = 24;
/** Offsets in struct kvm_segment. */
export const KVM_SEGMENT = {
  /** u64 */
  base: 0,
  /** u32, byte granular */
  limit: 8,
  /** u16 */
  selector: 12,
  /** u8 each from here on */
  type: 14,
  present: 15,
  dpl: 16,
  db: 17,
  s: 18,
  l: 19,
  g: 20,
  avl: 21,
  /** 1: the register holds no usable segment (as the LDT at boot). */
  unusable: 22,
} as const;

/** sizeof(struct kvm_dtable): u64 base, u16 limit, padding. */
export const KVM_DTABLE_SIZE = 16;
/** Offset of kvm_dtable.limit. */
export const KVM_DTABLE_LIMIT = 8;

/** sizeof(struct kvm_sregs). */
export const KVM_SREGS_SIZE = 312;
/** Offsets in struct kvm_sregs. */
export const KVM_SREGS = {
  cs: 0,
  ds: 24,
  es: 48,
  fs: 72,
  gs: 96,
  ss: 120,
  tr: 144,
  ldt: 168,
  gdt: 192,
  idt: 208,
  cr0: 224,
  cr2: 232,
  cr3: 240,
  cr4: 248,
  cr8: 256,
  efer: 264,
  apicBase: 272,
  /** u64[4]: pending external interrupt bitmap. */
  interruptBitmap: 280,
} as const;

/** sizeof(struct kvm_cpuid_entry2). */
export const KVM_CPUID_ENTRY2_SIZE = 40;
/** Offsets in struct kvm_cpuid_entry2 (all u32). */
export const KVM_CPUID_ENTRY2 = { function: 0, index: 4, flags: 8, eax: 12, ebx: 16, ecx: 20, edx: 24 } as const;
/** kvm_cpuid_entry2.flags: the entry applies to one subleaf (index), not to the whole leaf. */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

/** sizeof(struct kvm_msr_entry): u32 index, u32 reserved, u64 data. */
export const KVM_MSR_ENTRY_SIZE = 16;
/** Offset of kvm_msr_entry.data. */
export const KVM_MSR_ENTRY_DATA = 8;

/** sizeof(struct kvm_irq_routing_entry). */
export const KVM_IRQ_ROUTING_ENTRY_SIZE = 48;
/** Offsets in struct kvm_irq_routing_entry (all u32). */
export const KVM_IRQ_ROUTING_ENTRY = {
  gsi: 0,
  type: 4,
  flags: 8,
  /** union u: irqchip {irqchip, pin} or msi {address_lo, address_hi, data, devid}. */
  u: 16,
  irqchipIrqchip: 16,
  irqchipPin: 20,
  msiAddressLo: 16,
  msiAddressHi: 20,
  msiData: 24,
} as const;
/** Most routes KVM_SET_GSI_ROUTING accepts (KVM_MAX_IRQ_ROUTES). */
export const KVM_MAX_IRQ_ROUTES = 4096;

/** KVM_EXIT_* (kvm_run.exit_reason) handled by the decoder. */
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;
/** kvm_run.io.direction values. */
export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;
/** kvm_run.system_event.type values. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_CRASH = 3;
/** kvm_run.internal.suberror: KVM could not emulate an instruction. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;

/** kvm_irq_routing_entry.type values. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
export const KVM_IRQ_ROUTING_MSI = 2;
/** Irqchip numbers of the in-kernel PICs and IOAPIC. */
export const KVM_IRQCHIP_PIC_MASTER = 0;
export const KVM_IRQCHIP_PIC_SLAVE = 1;
export const KVM_IRQCHIP_IOAPIC = 2;

/** KVM_IOEVENTFD flags. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
export const KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
/** KVM_IRQFD flag: remove the irqfd. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;
/** KVM_CREATE_PIT2 flag: emulate a dummy speaker port (0x61) too. */
export const KVM_PIT_SPEAKER_DUMMY = 1;
