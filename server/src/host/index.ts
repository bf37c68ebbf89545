export { createHostProbe, type HostFacts, type HostProbe, type HostProbeOptions, type SecurityModelFacts } from './probe';
export {
  cpuBrand,
  cpuSignature,
  cpuVendor,
  decodeSignature,
  hostArch,
  parseCpuinfoFlags,
  readHostCpu,
  type CpuidFn,
  type HostCpuFacts,
} from './cpu';
export { parseCpuList } from './cpu-list';
export { readOnlineCpus, readTopology, type HostTopologyFacts } from './topology';
export { readNumaCells, type NumaCellFacts } from './numa';
export { parseMeminfoBytes, readMemTotalBytes } from './memory';
export {
  HV_HOST_UUID_NAMESPACE,
  MACHINE_ID_PATHS,
  isUsableSmbiosUuid,
  readHostname,
  readHostUuid,
  readKernelRelease,
  uuidV5,
  type HostUuid,
  type HostUuidSource,
} from './identity';
export { readKvm, type KvmExtensionFacts, type KvmFacts, type KvmProbeFn } from './kvm';
