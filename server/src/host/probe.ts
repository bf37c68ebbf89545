import { cpuid as nativeCpuid } from '../../../engine/src/native';
import { readHostCpu, type CpuidFn, type HostCpuFacts } from './cpu';
import { readHostname, readHostUuid, readKernelRelease, type HostUuidSource, MACHINE_ID_PATHS } from './identity';
import { readKvm, type KvmFacts, type KvmProbeFn } from './kvm';
import { readMemTotalBytes } from './memory';
import { readNumaCells, type NumaCellFacts } from './numa';
import { readOnlineCpus, readTopology, type HostTopologyFacts } from './topology';

/** Security driver confining engine processes; "none" as libvirt reports when no driver is active. */
export interface SecurityModelFacts {
  model: string;
  doi: string;
}

/** Everything hvd knows about its host. */
export interface HostFacts {
  uuid: string;
  /** Where uuid came from: SMBIOS, derived from the machine id, or nowhere (uuid ""). */
  uuidSource: HostUuidSource;
  cpu: HostCpuFacts;
  topology: HostTopologyFacts;
  numaCells: NumaCellFacts[];
  /** MemTotal of /proc/meminfo. */
  memoryBytes: number;
  kvm: KvmFacts;
  secmodels: SecurityModelFacts[];
  hostname: string;
  kernelRelease: string;
}

/** Reads the host's facts; cheap to call on every request. */
export interface HostProbe {
  host(): HostFacts;
}

export interface HostProbeOptions {
  /** Mount point of sysfs. */
  sysRoot?: string;
  /** Mount point of procfs. */
  procRoot?: string;
  /** Machine id files, in order of preference. */
  machineIdPaths?: readonly string[];
  /** CPUID of the host CPU (default: the native addon's). */
  cpuid?: CpuidFn;
  /** KVM probe (default: the engine's, opening /dev/kvm). */
  probeKvm?: KvmProbeFn;
}

/**
 * No confinement of engine processes yet (no SELinux or AppArmor driver): libvirt reports exactly this
 * (<secmodel><model>none</model><doi>0</doi></secmodel>) when no security driver is active.
 */
const NO_SECURITY_MODEL: SecurityModelFacts = { model: 'none', doi: '0' };

type StaticFacts = Pick<HostFacts, 'uuid' | 'uuidSource' | 'cpu' | 'kvm' | 'secmodels' | 'kernelRelease'>;

function readStaticFacts(options: HostProbeOptions, sysRoot: string, procRoot: string): StaticFacts {
  const { uuid, source } = readHostUuid(sysRoot, options.machineIdPaths ?? MACHINE_ID_PATHS);
  return {
    uuid,
    uuidSource: source,
    cpu: readHostCpu(options.cpuid ?? nativeCpuid, procRoot),
    kvm: readKvm(options.probeKvm),
    secmodels: [NO_SECURITY_MODEL],
    kernelRelease: readKernelRelease(),
  };
}

/**
 * A probe that reads the static facts once (CPU identity and flags, uuid, kernel release, KVM) and re-reads on every
 * call what can change while hvd runs: MemTotal and the NUMA cells (memory hotplug, balloons; per-node MemTotal
 * moves on its own on some hosts), the online CPUs (CPU hotplug) and the host name. Topology is recomputed only
 * when the online CPUs changed. A call costs a few small procfs/sysfs reads.
 */
export function createHostProbe(options: HostProbeOptions = {}): HostProbe {
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  let fixed: StaticFacts | undefined;
  let layout: { online: string; topology: HostTopologyFacts } | undefined;

  return {
    host(): HostFacts {
      const stable = (fixed ??= readStaticFacts(options, sysRoot, procRoot));
      const memoryBytes = readMemTotalBytes(procRoot);
      const onlineCpuIds = readOnlineCpus(sysRoot);
      const online = onlineCpuIds.join(',');
      if (layout?.online !== online) layout = { online, topology: readTopology(sysRoot, onlineCpuIds) };
      const { topology } = layout;
      // Copies of the cached parts, so a caller editing its answer cannot change the cache.
      return {
        ...stable,
        cpu: { ...stable.cpu, features: [...stable.cpu.features] },
        kvm: { ...stable.kvm, extensions: stable.kvm.extensions.map((e) => ({ ...e })) },
        secmodels: stable.secmodels.map((s) => ({ ...s })),
        topology: { ...topology, onlineCpuIds: [...topology.onlineCpuIds] },
        numaCells: readNumaCells(sysRoot, { onlineCpuIds, memTotalBytes: memoryBytes }),
        memoryBytes,
        hostname: readHostname(),
      };
    },
  };
}
