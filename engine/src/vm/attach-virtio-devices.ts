/**
 * The domain's virtio devices (spec.devices) on PCI bus 0: each device model behind its own modern virtio-pci
 * transport, in slot order as listed (disk → virtio-blk with a raw file backend, rng → virtio-rng). Queue
 * notifies end the emulated time slice so the backend work they start is picked up at once.
 */
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import type { WarnLogger } from '../bus';
import type { GuestMemoryMap } from '../memory/guest-memory-map';
import { CountingMsiSink, formatPciAddress, type PciRoot } from '../pci';
import { RawFileBackend, VirtioBlk, type BlockBackend } from '../virtio/blk';
import { VirtioRng } from '../virtio/rng';
import { VirtioPciTransport } from '../virtio/transport';
import type { VirtioDevice } from '../virtio/virtio-device';

export interface AttachVirtioOptions {
  root: PciRoot;
  memory: GuestMemoryMap;
  logger: WarnLogger & { info(obj: object, msg: string): void };
  /** The VM ends the current time slice (accelerator requestStop). */
  onQueueNotify: () => void;
  /** A device set DEVICE_NEEDS_RESET (by device id), e.g. after the guest broke one of its queues. */
  onDeviceNeedsReset?: (deviceId: string, why: string) => void;
  /** Disk images hvd opened for the engine, by device id: used instead of the spec's paths. */
  diskFds?: Readonly<Record<string, number>>;
}

/** The attached devices, for reset and shutdown. */
export interface AttachedVirtioDevices {
  readonly transports: readonly VirtioPciTransport[];
  /** Machine reset: every transport and device back to power-on state. */
  reset(): void;
  /** Closes the backends (files); call once the guest has stopped. */
  close(): Promise<void>;
}

export async function attachVirtioDevices(devices: readonly DeviceSpec[], options: AttachVirtioOptions): Promise<AttachedVirtioDevices> {
  const backends: BlockBackend[] = [];
  const transports: VirtioPciTransport[] = [];
  const msiSink = new CountingMsiSink(options.logger);
  const closeAll = async () => {
    await Promise.allSettled(backends.map((b) => b.close()));
  };
  try {
    for (const spec of devices) {
      const kind = spec.kind;
      const name = spec.id !== '' ? spec.id : (kind?.$case ?? 'device');
      let device: VirtioDevice;
      if (kind?.$case === 'disk') {
        const fd = options.diskFds?.[name];
        const readOnly = kind.value.readOnly;
        const backend = fd !== undefined ? await RawFileBackend.fromFd(fd, { readOnly, name: kind.value.path }) : await RawFileBackend.open(kind.value.path, { readOnly });
        backends.push(backend);
        device = new VirtioBlk({ backend, serial: kind.value.serial, logger: options.logger, name });
      } else if (kind?.$case === 'rng') {
        device = new VirtioRng({ logger: options.logger, name });
      } else {
        throw new Error(`device ${name}: ${kind?.$case ?? 'unknown'} devices are not supported by this engine`);
      }
      const onNeedsReset = (why: string) => options.onDeviceNeedsReset?.(name, why);
      const transport = new VirtioPciTransport({ device, memory: options.memory, msiSink, logger: options.logger, onQueueNotify: options.onQueueNotify, name, onNeedsReset });
      const address = options.root.attach(transport);
      transports.push(transport);
      options.logger.info({ device: name, pci: formatPciAddress(address) }, 'virtio device attached');
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    transports,
    reset: () => transports.forEach((t) => t.resetFunction()),
    close: closeAll,
  };
}
