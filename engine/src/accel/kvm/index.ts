export * from './kvm-abi';
export {
  KvmAccelerator,
  DEFAULT_KVM_SLICE_MICROS,
  KVM_API_VERSION,
  KVM_IDENTITY_MAP_ADDRESS,
  KVM_TSS_ADDRESS,
  type KvmAcceleratorOptions,
} from './kvm-accelerator';
export { decodeKvmRegs, decodeKvmSregs, encodeKvmRegs, encodeKvmSregs, kvmEfer } from './kvm-registers';
export {
  cpuidVendor,
  decodeCpuidEntries,
  encodeCpuidEntries,
  filterCpuid,
  findCpuid,
  signatureRegisters,
  KVM_SIGNATURE,
  type CpuidEntry,
  type CpuidFilterOptions,
} from './cpuid-filter';
export { bootMsrEntries, decodeMsrEntries, encodeMsrEntries, type MsrEntry } from './boot-msrs';
export {
  buildGsiRouting,
  encodeGsiRouting,
  legacyIrqRoutes,
  LEGACY_GSI_COUNT,
  type GsiRouting,
  type IrqRoute,
  type MsiMessage,
  type MsiRouteRequest,
} from './gsi-routing';
export {
  VcpuThreadExits,
  RECORD_WORDS,
  RING_RECORDS,
  THREAD_EXIT_ERROR,
  THREAD_EXIT_HLT,
  THREAD_EXIT_SHUTDOWN,
  THREAD_EXIT_STOPPED,
} from './vcpu-thread-exits';
export { KvmIrqLine } from './kvm-irq-line';
