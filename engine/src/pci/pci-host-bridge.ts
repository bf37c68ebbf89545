import { PciConfigSpace } from './pci-config-space';
import type { PciBarRegion, PciFunction } from './pci-function';

/** Vendor of the host bridge: Intel, with the device ID Cloud Hypervisor uses for its virtual PCIe host. */
export const HOST_BRIDGE_VENDOR_ID = 0x8086;
/** Intel "virtual PCIe host" device ID (Cloud Hypervisor's choice; no driver binds to it). */
export const HOST_BRIDGE_DEVICE_ID = 0x0d57;
/** Class 06 (bridge), subclass 00 (host bridge), programming interface 00. */
export const HOST_BRIDGE_CLASS = 0x06_00_00;

/** The host bridge at 00:00.0: a header, no BARs, no interrupt; it tells the guest a PCI bus is there. */
export class PciHostBridge implements PciFunction {
  readonly name = 'host-bridge';
  readonly config = new PciConfigSpace({ vendorId: HOST_BRIDGE_VENDOR_ID, deviceId: HOST_BRIDGE_DEVICE_ID, revision: 0, classCode: HOST_BRIDGE_CLASS });
  readonly barRegions: readonly PciBarRegion[] = [];
}
