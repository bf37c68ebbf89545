/**
 * Virtio numbers shared by devices, queues and transports (virtio 1.2). Device-specific ones (request types,
 * config offsets) live beside their device.
 */

/** Device status: the guest noticed the device (§2.1). */
export const VIRTIO_STATUS_ACKNOWLEDGE = 1;
/** Device status: the guest has a driver for it. */
export const VIRTIO_STATUS_DRIVER = 2;
/** Device status: the driver is set up and ready to drive the device. */
export const VIRTIO_STATUS_DRIVER_OK = 4;
/** Device status: the driver acknowledged the features it understands; feature negotiation is complete. */
export const VIRTIO_STATUS_FEATURES_OK = 8;
/** Device status: the device hit an error it cannot recover from without a reset (a corrupted queue). */
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 0x40;
/** Device status: the guest gave up on the device. */
export const VIRTIO_STATUS_FAILED = 0x80;

/** Device ID: network card (§5.1). */
export const VIRTIO_ID_NET = 1;
/** Device ID: block device (§5.2). */
export const VIRTIO_ID_BLOCK = 2;
/** Device ID: console (§5.3). */
export const VIRTIO_ID_CONSOLE = 3;
/** Device ID: entropy source (§5.4). */
export const VIRTIO_ID_RNG = 4;
/** Device ID: traditional memory balloon (§5.5). */
export const VIRTIO_ID_BALLOON = 5;

/** Feature: the driver may use indirect descriptor tables (§2.7.5.3). */
export const VIRTIO_F_INDIRECT_DESC = 1n << 28n;
/** Feature: used_event/avail_event fields suppress notifications and interrupts (§2.7.7, §2.7.10). */
export const VIRTIO_F_EVENT_IDX = 1n << 29n;
/** Feature: a modern (virtio 1.x) device; transports refuse drivers that do not accept it. */
export const VIRTIO_F_VERSION_1 = 1n << 32n;

/** Largest queue size a split virtqueue may have (§2.7: a power of two up to 32768). */
export const MAX_QUEUE_SIZE = 32768;
