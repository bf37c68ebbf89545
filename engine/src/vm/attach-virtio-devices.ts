/**
 * The domain's virtio devices (spec.devices) on PCI bus 0: each device model behind its own modern virtio-pci
 * transport, in slot order as listed (disk → virtio-blk with a raw file backend, rng → virtio-rng, nic → virtio-net
 * on an existing host tap, console → virtio-console behind its own ConsoleHub, balloon → virtio-balloon). Queue
 * notifies end the emulated time slice so the backend work they start is picked up at once.
 */
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import type { Doorbells } from '../accel/doorbells';
import type { WarnLogger } from '../bus';
import type { GuestMemoryMap } from '../memory/guest-memory-map';
import { ConsoleHub } from '../console';
import { formatPciAddress, type MsiSink, type PciRoot } from '../pci';
import { VirtioBalloon } from '../virtio/balloon';
import { RawFileBackend, VirtioBlk } from '../virtio/blk';
import { VirtioConsole } from '../virtio/console';
import { parseMac, TapBackend, VirtioNet } from '../virtio/net';
import { VirtioRng } from '../virtio/rng';
import { VirtioPciTransport } from '../virtio/transport';
import type { VirtioDevice } from '../virtio/virtio-device';

export interface AttachVirtioOptions {
  root: PciRoot;
  memory: GuestMemoryMap;
  /** Where the transports' MSI-X messages go (the accelerator's interrupt controller). */
  msiSink: MsiSink;
  /** The accelerator's doorbells for queue notifies, when it has them. */
  doorbells?: Doorbells;
  logger: WarnLogger & { info(obj: object, msg: string): void };
  /** The VM ends the current time slice (accelerator requestStop). */
  onQueueNotify: () => void;
  /** Scrollback of each virtio-console's hub. */
  consoleScrollbackBytes: number;
  /** A device set DEVICE_NEEDS_RESET (by device id), e.g. after the guest broke one of its queues. */
  onDeviceNeedsReset?: (deviceId: string, why: string) => void;
  /** Disk images hvd opened for the engine, by device id: used instead of the spec's paths. */
  diskFds?: Readonly<Record<string, number>>;
}

/** The domain's balloon device (at most one). */
export interface AttachedBalloon {
  id: string;
  device: VirtioBalloon;
  statsPeriodSeconds: number;
}

/** The attached devices, for reset and shutdown. */
export interface AttachedVirtioDevices {
  readonly transports: readonly VirtioPciTransport[];
  /** Each virtio-console's ConsoleHub, by device id. */
  readonly consoles: ReadonlyMap<string, ConsoleHub>;
  readonly balloon: AttachedBalloon | undefined;
  /** Machine reset: every transport and device back to power-on state. */
  reset(): void;
  /** Closes the backends (files); call once the guest has stopped. */
  close(): Promise<void>;
}

export async function attachVirtioDevices(devices: readonly DeviceSpec[], options: AttachVirtioOptions): Promise<AttachedVirtioDevices> {
  const backends: { close(): Promise<void> }[] = [];
  const transports: VirtioPciTransport[] = [];
  const consoles = new Map<string, ConsoleHub>();
  let balloon: AttachedBalloon | undefined;
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
      } else if (kind?.$case === 'nic') {
        const backend = TapBackend.open(kind.value.tap, options.logger);
        backends.push(backend);
        // hvd stores a generated MAC in the spec; an empty one here (a spec not from hvd) takes the device default.
        device = new VirtioNet({ backend, mac: parseMac(kind.value.mac), logger: options.logger, name });
      } else if (kind?.$case === 'console') {
        // The hub feeds input as the guest posts receive buffers, like the UART's FIFO for the serial console.
        const hub: ConsoleHub = new ConsoleHub(options.consoleScrollbackBytes, (bytes) => port.offerInput(bytes));
        const port = new VirtioConsole({ output: (bytes) => hub.putBytes(bytes), onInputDrained: () => hub.pump(), logger: options.logger, name });
        consoles.set(name, hub);
        device = port;
      } else if (kind?.$case === 'balloon') {
        if (balloon) throw new Error(`device ${name}: at most one balloon device per domain (${balloon.id} is one)`);
        const { deflateOnOom, statsPeriodSeconds } = kind.value;
        const made = new VirtioBalloon({ deflateOnOom, statsQueue: statsPeriodSeconds > 0, logger: options.logger, name });
        balloon = { id: name, device: made, statsPeriodSeconds };
        device = made;
      } else {
        throw new Error(`device ${name}: ${kind?.$case ?? 'unknown'} devices are not supported by this engine`);
      }
      const onNeedsReset = (why: string) => options.onDeviceNeedsReset?.(name, why);
      const transport = new VirtioPciTransport({ device, memory: options.memory, msiSink: options.msiSink, doorbells: options.doorbells, logger: options.logger, onQueueNotify: options.onQueueNotify, name, onNeedsReset });
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
    consoles,
    balloon,
    reset: () => transports.forEach((t) => t.resetFunction()),
    close: closeAll,
  };
}
