import type { GuestMemoryMap } from '../memory/guest-memory-map';
import type { DescriptorChain } from './queue/descriptor-chain';

/**
 * The contract between a virtio device model (one folder per device: blk/, rng/, net/, ...) and a transport
 * (virtio-pci today). Devices know nothing of PCI; transports know nothing of what a device does. The flow:
 *   1. the transport exposes deviceType, deviceFeatures, the queue maxima and the device config space;
 *   2. the driver negotiates features, sets up queues and sets DRIVER_OK: the transport calls activate();
 *   3. every queue notify from the driver becomes notify(queueIndex); the device takes chains from the queue,
 *      does the work (backends are asynchronous: the loop thread never blocks), puts used entries, and calls
 *      interrupt.signalUsed(queueIndex);
 *   4. a driver reset (status 0) calls reset(): the device drops its queues and any in-flight work.
 */
export interface VirtioDevice {
  /** Virtio device ID (virtio 1.2 §5: 1 net, 2 block, 3 console, 4 entropy, 5 balloon). */
  readonly deviceType: number;
  /** Feature bits the device offers, VIRTIO_F_VERSION_1 (bit 32) included. */
  readonly deviceFeatures: bigint;
  /** Largest size of each queue; the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Device-specific configuration space (virtio 1.2 §4.1.4.6), little-endian, offset from its start. */
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** The driver set DRIVER_OK: serve these queues (indexed as queueMaxSizes; undefined when not enabled). */
  activate(context: VirtioActivation): void;
  /** The driver notified a queue: there may be new available buffers. */
  notify(queueIndex: number): void;
  /** The driver reset the device: forget the queues and in-flight requests. */
  reset(): void;
}

export interface VirtioActivation {
  memory: GuestMemoryMap;
  /** The negotiated features (driver's acknowledgement ∩ device's offer). */
  features: bigint;
  queues: readonly (VirtqueueHandle | undefined)[];
  interrupt: VirtioInterrupt;
}

/** How a device tells the driver something happened; the transport maps it to MSI-X, INTx or nothing (polling). */
export interface VirtioInterrupt {
  /** Buffers were used on this queue. */
  signalUsed(queueIndex: number): void;
  /** The device configuration changed. */
  signalConfig(): void;
}

/** Placement of a split virtqueue as the driver programmed it (virtio 1.2 §2.7). */
export interface VirtqueueLayout {
  size: number;
  descTable: number;
  availRing: number;
  usedRing: number;
}

/**
 * A virtqueue as devices use it (implemented by engine/src/virtio/queue/). Every address, length and chain the guest
 * wrote is bounds-checked and loop-limited there; a malformed chain is logged and skipped, never trusted.
 */
export interface VirtqueueHandle {
  readonly layout: VirtqueueLayout;
  readonly size: number;
  /** True once the queue was found corrupt (avail.idx jump, bad head, layout outside RAM): it serves nothing until reset. */
  readonly broken: boolean;
  /** The next well-formed available chain, or undefined when there is none; malformed ones are logged and skipped. */
  pop(): DescriptorChain | undefined;
  /** Gives a chain back to the driver: `written` bytes were written into its device-writable part. */
  pushUsed(head: number, written: number): void;
  /** Whether the driver wants an interrupt for the used entries added since the last call (then: signalUsed). */
  needsInterrupt(): boolean;
}
