/** Register offsets of struct virtio_pci_common_cfg (virtio 1.2 §4.1.4.3), all little-endian. */

/** le32: selects which 32 bits of device_feature read back. */
export const DEVICE_FEATURE_SELECT = 0x00;
/** le32, read-only: 32 feature bits the device offers, chosen by device_feature_select. */
export const DEVICE_FEATURE = 0x04;
/** le32: selects which 32 bits of driver_feature a write sets. */
export const DRIVER_FEATURE_SELECT = 0x08;
/** le32: 32 feature bits the driver accepts, chosen by driver_feature_select. */
export const DRIVER_FEATURE = 0x0c;
/** le16: MSI-X vector for configuration changes. */
export const CONFIG_MSIX_VECTOR = 0x10;
/** le16, read-only: number of queues. */
export const NUM_QUEUES = 0x12;
/** u8: device status; writing 0 resets the device. */
export const DEVICE_STATUS = 0x14;
/** u8, read-only: changes whenever the device configuration changes. */
export const CONFIG_GENERATION = 0x15;
/** le16: which queue the queue_* registers below address. */
export const QUEUE_SELECT = 0x16;
/** le16: queue size (reads the maximum after reset; 0: no such queue). */
export const QUEUE_SIZE = 0x18;
/** le16: MSI-X vector of the queue. */
export const QUEUE_MSIX_VECTOR = 0x1a;
/** le16: 1 when the driver enabled the queue. */
export const QUEUE_ENABLE = 0x1c;
/** le16, read-only: the queue's notify offset in units of notify_off_multiplier. */
export const QUEUE_NOTIFY_OFF = 0x1e;
/** le64: descriptor table address. */
export const QUEUE_DESC = 0x20;
/** le64: driver (available) ring address. */
export const QUEUE_DRIVER = 0x28;
/** le64: device (used) ring address. */
export const QUEUE_DEVICE = 0x30;
