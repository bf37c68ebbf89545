import { probeKvm, type KvmProbeResult } from '../../../engine/src/accel/kvm-probe';

/** One KVM_CHECK_EXTENSION answer. */
export interface KvmExtensionFacts {
  /** As in linux/kvm.h, e.g. "KVM_CAP_IRQCHIP". */
  name: string;
  number: number;
  /** KVM_CHECK_EXTENSION's answer; 0 means absent. */
  value: number;
  /** The engine cannot run without it. */
  required: boolean;
}

/** What /dev/kvm offers on this host. */
export interface KvmFacts {
  available: boolean;
  /** Why KVM cannot be used ("" when it can). */
  unavailableReason: string;
  /** KVM_GET_API_VERSION; 0 when /dev/kvm did not open. */
  apiVersion: number;
  extensions: KvmExtensionFacts[];
  /** KVM_CAP_MAX_VCPUS; 0 when unknown. */
  maxVcpus: number;
  /** KVM_CAP_NR_VCPUS (the recommended maximum); 0 when unknown. */
  recommendedVcpus: number;
}

/** A KVM probe; the default is the engine's (engine/src/accel/kvm-probe), which opens /dev/kvm and asks it. */
export type KvmProbeFn = () => KvmProbeResult;

/** KVM facts from the probe, with absent numbers as 0 and a reason always present when unavailable. */
export function readKvm(probe: KvmProbeFn = () => probeKvm()): KvmFacts {
  const result = probe();
  return {
    available: result.available,
    unavailableReason: result.available ? '' : (result.reason ?? 'KVM is not available (/dev/kvm)'),
    apiVersion: result.apiVersion ?? 0,
    extensions: result.extensions.map((e) => ({
      name: e.name,
      number: e.number,
      value: e.value,
      required: e.required,
    })),
    maxVcpus: result.maxVcpus ?? 0,
    recommendedVcpus: result.recommendedVcpus ?? 0,
  };
}
