/**
 * The domain's virtio devices (spec.devices) on PCI bus 0: each device model behind its own modern virtio-pci
 * transport, in slot order as listed (disk → virtio-blk with a raw file backend, rng → virtio-rng, nic → virtio-net
 * on an existing host tap). Queue notifies end the emulated time slice so the backend work they start is picked
 * up at once.
 */
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import type { WarnLogger } from '../bus';
import type { GuestMemoryMap } from '../memory/guest-memory-map';
import { CountingMsiSink, formatPciAddress, type PciRoot } from '../pci';
import { RawFileBackend, VirtioBlk } from '../virtio/blk';
import { parseMac, TapBackend, VirtioNet } from '../virtio/net';
import { VirtioRng } from '../virtio/rng';
import { VirtioPciTransport } from '../virtio/transport';
import type { VirtioDevice } from '../virtio/virtio-device';

export interface AttachVirtioOptions {
  root: PciRoot;
  memory: GuestMemoryMap;
  logger: WarnLogger & { info(obj: object, msg: string): void };
  /** The VM ends the current time slice (accelerator requestStop). */
  onQueueNotify: () => void;
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
  const backends: { close(): Promise<void> }[] = [];
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
        const backend = await RawFileBackend.open(kind.value.path, { readOnly: kind.value.readOnly });
        backends.push(backend);
        device = new VirtioBlk({ backend, serial: kind.value.serial, logger: options.logger, name });
      } else if (kind?.$case === 'rng') {
        device = new VirtioRng({ logger: options.logger, name });
      } else if (kind?.$case === 'nic') {
        const backend = TapBackend.open(kind.value.tap, options.logger);
        backends.push(backend);
        // hvd stores a generated MAC in the spec; an empty one here (a spec not from hvd) takes the device default.
        device = new VirtioNet({ backend, mac: parseMac(kind.value.mac), logger: options.logger, name });
      } else {
        throw new Error(`device ${name}: ${kind?.$case ?? 'unknown'} devices are not supported by this engine`);
      }
      const transport = new VirtioPciTransport({ device, memory: options.memory, msiSink, logger: options.logger, onQueueNotify: options.onQueueNotify, name });
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
