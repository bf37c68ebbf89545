export { DEFAULT_CPU_MAP_DIR, loadX86CpuMap, type CpuMapFeature, type CpuMapModel, type X86CpuMap } from './cpu-map';
export { libvirtFeatureName, libvirtFeatures } from './cpu-features';
export { decodeHostCpuModel, libvirtVendorName, type HostCpuIdentity, type HostCpuModel } from './cpu-model';
export { readHostDetails, X86_64_BASE_PAGE_KIB, type CpuTopologyIds, type HostDetails, type HostDetailsOptions, type PageCount } from './host-details';
export { libvirtDomainType } from './libvirt-domain-type';
export { renderCapabilitiesXml, type CapabilitiesXmlInput, type GuestDomainTypeXml, type GuestXml } from './render-capabilities';
export { renderDomainCapabilitiesXml, type DomainCapabilitiesXmlInput } from './render-domain-capabilities';
