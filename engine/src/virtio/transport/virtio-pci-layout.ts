/**
 * Numbers of the modern virtio-pci transport (virtio 1.2 §4.1) and where hv puts each structure: all of them
 * in one 64-bit memory BAR, 4 KiB apart, so each can be mapped (or trapped) on its own page.
 */
import { VIRTIO_ID_BALLOON, VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, VIRTIO_ID_NET, VIRTIO_ID_RNG } from '../constants';

/** PCI vendor ID of every virtio device (Red Hat, Inc.). */
export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** Modern (non-transitional) device IDs are this plus the virtio device type. */
export const VIRTIO_PCI_DEVICE_ID_BASE = 0x1040;
/** Revision 1: a non-transitional (virtio 1.x only) device. */
export const VIRTIO_PCI_REVISION = 1;
/** Subsystem ID (as QEMU's virtio-pci; the spec asks for 0x40 or higher on non-transitional devices). */
export const VIRTIO_PCI_SUBSYSTEM_ID = 0x1100;

/** PCI capability ID of vendor-specific capabilities, which carry the virtio structures. */
export const PCI_CAP_ID_VENDOR = 0x09;
/** virtio_pci_cap.cfg_type: common configuration. */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
/** virtio_pci_cap.cfg_type: notifications. */
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
/** virtio_pci_cap.cfg_type: ISR status. */
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
/** virtio_pci_cap.cfg_type: device-specific configuration. */
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
/** virtio_pci_cap.cfg_type: a window onto the BAR through config space (struct virtio_pci_cfg_cap). */
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
/** Bytes of struct virtio_pci_cfg_cap (virtio_pci_cap + pci_cfg_data[4]). */
export const VIRTIO_PCI_CFG_CAP_LENGTH = 20;
/** virtio_pci_cfg_cap.pci_cfg_data: the window's data bytes. */
export const CAP_PCI_CFG_DATA = 16;
/** Bytes of struct virtio_pci_cap. */
export const VIRTIO_PCI_CAP_LENGTH = 16;
/** Bytes of struct virtio_pci_notify_cap (virtio_pci_cap + notify_off_multiplier). */
export const VIRTIO_PCI_NOTIFY_CAP_LENGTH = 20;
/** virtio_pci_cap field offsets: cap_len, cfg_type, bar, id, offset (le32), length (le32). */
export const CAP_LEN = 2;
export const CAP_CFG_TYPE = 3;
export const CAP_BAR = 4;
export const CAP_ID = 5;
export const CAP_OFFSET = 8;
export const CAP_LENGTH = 12;
/** virtio_pci_notify_cap.notify_off_multiplier. */
export const CAP_NOTIFY_OFF_MULTIPLIER = 16;

/** The BAR holding every virtio structure and the MSI-X table (64-bit, so it takes registers 0 and 1). */
export const VIRTIO_BAR_INDEX = 0;
/** Each structure's page in the BAR. */
export const COMMON_CFG_OFFSET = 0x0000;
export const ISR_CFG_OFFSET = 0x1000;
export const DEVICE_CFG_OFFSET = 0x2000;
export const NOTIFY_CFG_OFFSET = 0x3000;
export const MSIX_TABLE_OFFSET = 0x4000;
export const MSIX_PBA_OFFSET = 0x5000;
/** Room per structure. */
export const REGION_SIZE = 0x1000;
/** Size of the BAR (a power of two holding the six pages). */
export const VIRTIO_BAR_SIZE = 0x8000;
/** Length of the common configuration structure advertised (through queue_device, §4.1.4.3). */
export const COMMON_CFG_LENGTH = 0x38;
/** Length of the ISR status structure advertised. */
export const ISR_CFG_LENGTH = 4;
/** Bytes between queue notify addresses: queue n is notified at NOTIFY_CFG_OFFSET + n * this. */
export const NOTIFY_OFF_MULTIPLIER = 4;
/** A driver notifies with a 16-bit write of the queue index (no VIRTIO_F_NOTIFICATION_DATA offered). */
export const NOTIFY_WRITE_SIZE = 2;
/** Most queues a device may have here (notify addresses and MSI-X vectors must fit their pages). */
export const MAX_QUEUES = 255;

/** ISR status: a queue was used. */
export const VIRTIO_ISR_QUEUE = 0x1;
/** ISR status: the device configuration changed. */
export const VIRTIO_ISR_CONFIG = 0x2;
/** MSI-X vector value meaning "no vector". */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** PCI class codes per virtio type, as QEMU's virtio-pci devices report them (Linux binds by vendor/device ID). */
const CLASS_BY_TYPE: ReadonlyMap<number, number> = new Map([
  [VIRTIO_ID_NET, 0x02_00_00], // network controller, ethernet
  [VIRTIO_ID_BLOCK, 0x01_00_00], // mass storage, SCSI
  [VIRTIO_ID_CONSOLE, 0x07_80_00], // communication controller, other
  [VIRTIO_ID_RNG, 0x00_ff_00], // unclassified
  [VIRTIO_ID_BALLOON, 0x00_ff_00], // unclassified
]);
/** Class of device types not in the table: unclassified. */
const DEFAULT_CLASS = 0x00_ff_00;

export function virtioPciClass(deviceType: number): number {
  return CLASS_BY_TYPE.get(deviceType) ?? DEFAULT_CLASS;
}
