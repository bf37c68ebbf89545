export * as commonConfig from './common-config';
export * from './virtio-pci-layout';
export { VirtioPciTransport, type VirtioPciTransportOptions } from './virtio-pci-transport';
