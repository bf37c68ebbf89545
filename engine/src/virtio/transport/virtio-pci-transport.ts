/**
 * The modern virtio-pci transport (virtio 1.2 §4.1) around one VirtioDevice. Driver initialisation (§3.1.1):
 *   1. reset (status 0), set ACKNOWLEDGE, then DRIVER;
 *   2. read device_feature (both halves through device_feature_select), write the accepted subset to
 *      driver_feature; set FEATURES_OK and re-read status: it stays clear when the subset is not one the device
 *      offered or lacks VIRTIO_F_VERSION_1;
 *   3. per queue: queue_select, read queue_size (the maximum; 0 = absent), optionally write a smaller power of
 *      two, write desc/driver/device addresses and an MSI-X vector, then queue_enable = 1;
 *   4. set DRIVER_OK: the transport builds a split queue for each enabled queue and activates the device.
 * A write to a queue's notify address calls the device's notify() and onQueueNotify (the VM ends the emulated
 * time slice so backend work starts now). Interrupts go to MSI-X when the driver enabled it, else set the ISR
 * bits and raise INTx; reading ISR clears it and lowers INTx. Status 0 resets the device and every register.
 * Guest mistakes (bad status transitions, writes to read-only or out-of-range registers) are logged and ignored.
 */
import { hex, NULL_LOGGER, type BusDevice, type WarnLogger } from '../../bus';
import type { IrqLine } from '../../irq';
import type { Doorbell, Doorbells } from '../../accel/doorbells';
import type { GuestMemoryMap } from '../../memory/guest-memory-map';
import {
  MsixCapability,
  PCI_COMMAND_INTX_DISABLE,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
  PCI_INTA,
  PciConfigSpace,
  RateLimitedLog,
  type MsiSink,
  type PciBarRegion,
  type PciFunction,
} from '../../pci';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FEATURES_OK,
} from '../constants';
import { createSplitQueue } from '../queue';
import type { VirtioDevice, VirtioInterrupt, VirtqueueHandle } from '../virtio-device';
import * as cc from './common-config';
import { PciCfgCapability } from './pci-cfg-capability';
import { featureWord, freshQueue, half, setHigh, setLow, type QueueRegisters } from './queue-registers';
import {
  CAP_BAR,
  CAP_CFG_TYPE,
  CAP_LEN,
  CAP_LENGTH,
  CAP_NOTIFY_OFF_MULTIPLIER,
  CAP_OFFSET,
  COMMON_CFG_LENGTH,
  COMMON_CFG_OFFSET,
  DEVICE_CFG_OFFSET,
  ISR_CFG_LENGTH,
  ISR_CFG_OFFSET,
  MAX_QUEUES,
  MSIX_PBA_OFFSET,
  MSIX_TABLE_OFFSET,
  NOTIFY_CFG_OFFSET,
  NOTIFY_OFF_MULTIPLIER,
  NOTIFY_WRITE_SIZE,
  PCI_CAP_ID_VENDOR,
  REGION_SIZE,
  VIRTIO_BAR_INDEX,
  VIRTIO_BAR_SIZE,
  VIRTIO_ISR_CONFIG,
  VIRTIO_ISR_QUEUE,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LENGTH,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_DEVICE_ID_BASE,
  VIRTIO_PCI_NOTIFY_CAP_LENGTH,
  VIRTIO_PCI_REVISION,
  VIRTIO_PCI_SUBSYSTEM_ID,
  VIRTIO_PCI_VENDOR_ID,
  virtioPciClass,
} from './virtio-pci-layout';

export interface VirtioPciTransportOptions {
  device: VirtioDevice;
  /** Guest RAM, for the queues the driver programs. */
  memory: GuestMemoryMap;
  /** Where MSI-X messages go (emulated: a counting sink). */
  msiSink: MsiSink;
  /** The INTx line; the PCI root connects the routed one at attach (connectIntx), unconnected until then. */
  intx?: IrqLine;
  logger?: WarnLogger;
  /** The accelerator's doorbells: each queue's notify address rings one (KVM ioeventfd) where the BAR decodes. */
  doorbells?: Doorbells;
  /** Called after every queue notify, with the queue index (the VM ends the emulated time slice early). */
  onQueueNotify?: (queueIndex: number) => void;
  /** Names the function in logs and bus entries (default "virtio-<type>"). */
  name?: string;
  /** The device set DEVICE_NEEDS_RESET (a broken queue, a failed activation): hvd reports it as a device event. */
  onNeedsReset?: (why: string) => void;
}

export class VirtioPciTransport implements PciFunction {
  readonly name: string;
  readonly config: PciConfigSpace;
  readonly barRegions: readonly PciBarRegion[];
  readonly msix: MsixCapability;
  private readonly device: VirtioDevice;
  private readonly log: RateLimitedLog;
  private readonly logger: WarnLogger;
  private readonly queues: QueueRegisters[];
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private status = 0;
  private configGeneration = 0;
  private configMsixVector = VIRTIO_MSI_NO_VECTOR;
  private queueSelect = 0;
  private isr = 0;
  private active = false;
  /** The config-space window onto the BAR. */
  private readonly pciCfg: PciCfgCapability;
  /** Queue notifies received, for stats and tests. */
  notifies = 0;
  private intx: IrqLine | undefined;
  /** The doorbells at the notify addresses where the BAR decodes now. */
  private notifyBells: Doorbell[] = [];

  constructor(private readonly options: VirtioPciTransportOptions) {
    const { device } = options;
    this.intx = options.intx;
    if (device.queueMaxSizes.length > MAX_QUEUES) throw new RangeError(`${device.queueMaxSizes.length} queues exceed ${MAX_QUEUES}`);
    this.device = device;
    this.name = options.name ?? `virtio-${device.deviceType}`;
    this.logger = options.logger ?? NULL_LOGGER;
    this.log = new RateLimitedLog(this.logger);
    this.queues = device.queueMaxSizes.map((max) => freshQueue(max));
    this.config = new PciConfigSpace({
      vendorId: VIRTIO_PCI_VENDOR_ID,
      deviceId: VIRTIO_PCI_DEVICE_ID_BASE + device.deviceType,
      revision: VIRTIO_PCI_REVISION,
      classCode: virtioPciClass(device.deviceType),
      subsystemVendorId: VIRTIO_PCI_VENDOR_ID,
      subsystemId: VIRTIO_PCI_SUBSYSTEM_ID,
      interruptPin: PCI_INTA,
    });
    this.config.defineBar({ index: VIRTIO_BAR_INDEX, kind: 'mem64', size: VIRTIO_BAR_SIZE });
    this.addVirtioCap(VIRTIO_PCI_CAP_COMMON_CFG, COMMON_CFG_OFFSET, COMMON_CFG_LENGTH);
    const notify = this.addVirtioCap(VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_CFG_OFFSET, Math.max(1, this.queues.length) * NOTIFY_OFF_MULTIPLIER, VIRTIO_PCI_NOTIFY_CAP_LENGTH);
    this.config.setU32(notify + CAP_NOTIFY_OFF_MULTIPLIER, NOTIFY_OFF_MULTIPLIER);
    this.addVirtioCap(VIRTIO_PCI_CAP_ISR_CFG, ISR_CFG_OFFSET, ISR_CFG_LENGTH);
    this.addVirtioCap(VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_CFG_OFFSET, REGION_SIZE);
    // One vector per queue plus one for configuration changes.
    this.msix = new MsixCapability(this.config, {
      vectors: this.queues.length + 1,
      bar: VIRTIO_BAR_INDEX,
      tableOffset: MSIX_TABLE_OFFSET,
      pbaOffset: MSIX_PBA_OFFSET,
      sink: options.msiSink,
    });
    const bar: BusDevice = { read: (offset, size) => this.readBar(offset, size), write: (offset, size, value) => this.writeBar(offset, size, value) };
    this.barRegions = [{ index: VIRTIO_BAR_INDEX, device: bar }];
    this.pciCfg = new PciCfgCapability(this.config, VIRTIO_BAR_INDEX, VIRTIO_BAR_SIZE, bar, { warn: (obj, msg) => this.warn(obj, msg) });
  }

  /** The device status byte as the driver last set it (for stats and tests). */
  get deviceStatus(): number {
    return this.status;
  }

  /** Whether the device was activated (DRIVER_OK accepted). */
  get activated(): boolean {
    return this.active;
  }

  /** Machine reset: the device as after power-on (virtio reset, MSI-X disabled and masked). */
  resetFunction(): void {
    this.reset();
    this.msix.reset();
  }

  /** The BAR moved: the queues' doorbells move with it (a notify write is an MMIO exit meanwhile, handled the same). */
  barMapped(index: number, base: number | undefined): void {
    if (index !== VIRTIO_BAR_INDEX || !this.options.doorbells) return;
    for (const bell of this.notifyBells) bell.remove();
    this.notifyBells = [];
    if (base === undefined) return;
    for (let q = 0; q < this.queues.length; q++) {
      const within = q * NOTIFY_OFF_MULTIPLIER;
      this.notifyBells.push(this.options.doorbells.add(base + NOTIFY_CFG_OFFSET + within, NOTIFY_WRITE_SIZE, () => this.notify(within)));
    }
  }

  connectIntx(line: IrqLine): void {
    this.intx = line;
  }

  configWritten(offset: number, size: number): void {
    this.msix.configWritten(offset, size);
    this.pciCfg.configWritten(offset, size);
  }

  beforeConfigRead(offset: number, size: number): void {
    this.pciCfg.beforeConfigRead(offset, size);
  }

  /** What the device calls to interrupt the driver. */
  private readonly interrupt: VirtioInterrupt = {
    signalUsed: (queueIndex) => {
      const vector = this.queues[queueIndex]?.msixVector ?? VIRTIO_MSI_NO_VECTOR;
      this.raise(VIRTIO_ISR_QUEUE, vector);
    },
    signalConfig: () => {
      this.configGeneration = (this.configGeneration + 1) & 0xff;
      this.raise(VIRTIO_ISR_CONFIG, this.configMsixVector);
    },
  };

  private raise(isrBit: number, vector: number): void {
    if (this.msix.enabled) {
      if (vector !== VIRTIO_MSI_NO_VECTOR) this.msix.signal(vector);
      return;
    }
    this.isr |= isrBit;
    this.config.setU16(PCI_STATUS, this.config.getU16(PCI_STATUS) | PCI_STATUS_INTERRUPT);
    if ((this.config.command & PCI_COMMAND_INTX_DISABLE) === 0) this.intx?.setLevel(true);
  }

  private addVirtioCap(cfgType: number, offset: number, length: number, capLength = VIRTIO_PCI_CAP_LENGTH): number {
    const at = this.config.addCapability(PCI_CAP_ID_VENDOR, capLength);
    this.config.setU8(at + CAP_LEN, capLength);
    this.config.setU8(at + CAP_CFG_TYPE, cfgType);
    this.config.setU8(at + CAP_BAR, VIRTIO_BAR_INDEX);
    this.config.setU32(at + CAP_OFFSET, offset);
    this.config.setU32(at + CAP_LENGTH, length);
    return at;
  }

  private readBar(offset: number, size: number): number {
    const page = offset - (offset % REGION_SIZE);
    const within = offset - page;
    switch (page) {
      case COMMON_CFG_OFFSET:
        return this.readCommon(within, size);
      case ISR_CFG_OFFSET: {
        if (within !== 0) return 0;
        const value = this.isr;
        this.lowerIntx();
        return value;
      }
      case DEVICE_CFG_OFFSET:
        return this.guarded(() => this.device.readConfig(within, size), 0);
      case MSIX_TABLE_OFFSET:
        return this.msix.table.read(within, size);
      case MSIX_PBA_OFFSET:
        return this.msix.pba.read(within, size);
      default:
        return 0; // notify addresses and unused pages read as zero
    }
  }

  private writeBar(offset: number, size: number, value: number): void {
    const page = offset - (offset % REGION_SIZE);
    const within = offset - page;
    switch (page) {
      case COMMON_CFG_OFFSET:
        return this.writeCommon(within, size, value);
      case DEVICE_CFG_OFFSET:
        return this.guarded(() => this.device.writeConfig(within, size, value), undefined);
      case NOTIFY_CFG_OFFSET:
        return this.notify(within);
      case MSIX_TABLE_OFFSET:
        return this.msix.table.write(within, size, value);
      default:
        this.warn({ offset: hex(offset), size, value: hex(value) }, 'write to a read-only or unused part of the BAR ignored');
    }
  }

  private notify(within: number): void {
    const queueIndex = Math.floor(within / NOTIFY_OFF_MULTIPLIER);
    this.notifies++;
    const queue = this.queues[queueIndex];
    if (!queue) {
      this.warn({ queue: queueIndex }, 'notify of a queue that does not exist ignored');
      return;
    }
    if (this.active && queue.enabled) this.guarded(() => this.device.notify(queueIndex), undefined);
    this.options.onQueueNotify?.(queueIndex);
  }

  private readCommon(offset: number, size: number): number {
    const queue = this.queues[this.queueSelect];
    let value: number;
    switch (offset) {
      case cc.DEVICE_FEATURE_SELECT: value = this.deviceFeatureSelect; break;
      case cc.DEVICE_FEATURE: value = featureWord(this.device.deviceFeatures, this.deviceFeatureSelect); break;
      case cc.DRIVER_FEATURE_SELECT: value = this.driverFeatureSelect; break;
      case cc.DRIVER_FEATURE: value = featureWord(this.driverFeatures, this.driverFeatureSelect); break;
      case cc.CONFIG_MSIX_VECTOR: value = this.configMsixVector; break;
      case cc.NUM_QUEUES: value = this.queues.length; break;
      case cc.DEVICE_STATUS: value = this.status; break;
      case cc.CONFIG_GENERATION: value = this.configGeneration; break;
      case cc.QUEUE_SELECT: value = this.queueSelect; break;
      case cc.QUEUE_SIZE: value = queue?.size ?? 0; break;
      case cc.QUEUE_MSIX_VECTOR: value = queue?.msixVector ?? VIRTIO_MSI_NO_VECTOR; break;
      case cc.QUEUE_ENABLE: value = queue?.enabled ? 1 : 0; break;
      case cc.QUEUE_NOTIFY_OFF: value = queue ? this.queueSelect : 0; break;
      case cc.QUEUE_DESC: value = half(queue?.desc ?? 0, false); break;
      case cc.QUEUE_DESC + 4: value = half(queue?.desc ?? 0, true); break;
      case cc.QUEUE_DRIVER: value = half(queue?.driver ?? 0, false); break;
      case cc.QUEUE_DRIVER + 4: value = half(queue?.driver ?? 0, true); break;
      case cc.QUEUE_DEVICE: value = half(queue?.device ?? 0, false); break;
      case cc.QUEUE_DEVICE + 4: value = half(queue?.device ?? 0, true); break;
      default: value = 0;
    }
    return size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
  }

  private writeCommon(offset: number, size: number, raw: number): void {
    const value = size === 4 ? raw >>> 0 : raw & (size === 2 ? 0xffff : 0xff);
    switch (offset) {
      case cc.DEVICE_FEATURE_SELECT: this.deviceFeatureSelect = value; return;
      case cc.DRIVER_FEATURE_SELECT: this.driverFeatureSelect = value; return;
      case cc.DRIVER_FEATURE: return this.writeDriverFeature(value);
      case cc.CONFIG_MSIX_VECTOR: this.configMsixVector = this.checkVector(value); return;
      case cc.DEVICE_STATUS: return this.writeStatus(value & 0xff);
      case cc.QUEUE_SELECT: this.queueSelect = value & 0xffff; return;
      default: return this.writeQueue(offset, value);
    }
  }

  private writeQueue(offset: number, value: number): void {
    const queue = this.queues[this.queueSelect];
    if (!queue) {
      this.warn({ register: hex(offset), queue: this.queueSelect }, 'write to the registers of a queue that does not exist ignored');
      return;
    }
    if (offset !== cc.QUEUE_MSIX_VECTOR && (queue.enabled || this.active)) {
      this.warn({ register: hex(offset), queue: this.queueSelect }, 'write to the set-up of an enabled queue ignored');
      return;
    }
    const max = this.device.queueMaxSizes[this.queueSelect] as number;
    switch (offset) {
      case cc.QUEUE_SIZE:
        if (value === 0 || value > max || (value & (value - 1)) !== 0) this.warn({ queue: this.queueSelect, size: value, max }, 'queue size is not a power of two up to the maximum: ignored');
        else queue.size = value;
        return;
      case cc.QUEUE_MSIX_VECTOR: queue.msixVector = this.checkVector(value); return;
      case cc.QUEUE_ENABLE:
        if (value === 1) queue.enabled = true;
        else this.warn({ queue: this.queueSelect, value }, 'queue_enable takes only 1 (disable by resetting the device): ignored');
        return;
      case cc.QUEUE_DESC: queue.desc = setLow(queue.desc, value); return;
      case cc.QUEUE_DESC + 4: queue.desc = setHigh(queue.desc, value); return;
      case cc.QUEUE_DRIVER: queue.driver = setLow(queue.driver, value); return;
      case cc.QUEUE_DRIVER + 4: queue.driver = setHigh(queue.driver, value); return;
      case cc.QUEUE_DEVICE: queue.device = setLow(queue.device, value); return;
      case cc.QUEUE_DEVICE + 4: queue.device = setHigh(queue.device, value); return;
      default:
        this.warn({ register: hex(offset), value: hex(value) }, 'write to a read-only common configuration register ignored');
    }
  }

  private writeDriverFeature(value: number): void {
    if ((this.status & VIRTIO_STATUS_FEATURES_OK) !== 0) {
      this.warn({ value: hex(value) }, 'driver_feature written after FEATURES_OK: ignored');
      return;
    }
    if (this.driverFeatureSelect > 1) return; // no feature bits beyond 63
    const shift = BigInt(32 * this.driverFeatureSelect);
    this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(value) << shift);
  }

  /** A vector the table has, or NO_VECTOR (which tells the driver the mapping failed, §4.1.5.1.2). */
  private checkVector(vector: number): number {
    return vector < this.msix.vectors ? vector : VIRTIO_MSI_NO_VECTOR;
  }

  private writeStatus(value: number): void {
    if (value === 0) return this.reset();
    const added = value & ~this.status;
    if ((this.status & ~value) !== 0) {
      this.warn({ status: hex(this.status), written: hex(value) }, 'device status bits can only be cleared by a reset: write ignored');
      return;
    }
    let next = value;
    if ((added & VIRTIO_STATUS_FEATURES_OK) !== 0 && !this.featuresAcceptable()) next &= ~VIRTIO_STATUS_FEATURES_OK;
    if ((added & VIRTIO_STATUS_DRIVER_OK) !== 0 && (next & VIRTIO_STATUS_FEATURES_OK) === 0) {
      this.warn({ status: hex(value) }, 'DRIVER_OK without FEATURES_OK: ignored');
      next &= ~VIRTIO_STATUS_DRIVER_OK;
    }
    this.status = next;
    if ((next & VIRTIO_STATUS_DRIVER_OK) !== 0 && !this.active) this.activate();
  }

  private featuresAcceptable(): boolean {
    const offered = this.device.deviceFeatures;
    const unknown = this.driverFeatures & ~offered;
    if (unknown !== 0n) {
      this.warn({ unknown: `0x${unknown.toString(16)}` }, 'driver accepted features the device does not offer: FEATURES_OK refused');
      return false;
    }
    if ((this.driverFeatures & VIRTIO_F_VERSION_1) === 0n) {
      this.warn({}, 'driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not served): FEATURES_OK refused');
      return false;
    }
    return true;
  }

  private activate(): void {
    const features = this.driverFeatures;
    const queues: (VirtqueueHandle | undefined)[] = this.queues.map((q, i) =>
      q.enabled
        ? createSplitQueue(this.options.memory, { size: q.size, descTable: q.desc, availRing: q.driver, usedRing: q.device }, this.logger, {
            features,
            name: `${this.name} q${i}`,
            onBroken: () => this.needsReset(`queue ${i} is broken`),
          })
        : undefined,
    );
    this.active = true;
    try {
      this.device.activate({ memory: this.options.memory, features, queues, interrupt: this.interrupt });
    } catch (err) {
      this.warn({ err: String(err) }, 'device failed to activate');
      this.needsReset(`activation failed: ${String(err)}`);
    }
  }

  /** DEVICE_NEEDS_RESET and a configuration interrupt, so the driver notices (§2.1.2). */
  private needsReset(why: string): void {
    const first = (this.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) === 0;
    this.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    this.interrupt.signalConfig();
    if (first) this.options.onNeedsReset?.(why);
  }

  private reset(): void {
    if (this.active || this.status !== 0) this.guarded(() => this.device.reset(), undefined);
    this.active = false;
    this.status = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.driverFeatures = 0n;
    this.configMsixVector = VIRTIO_MSI_NO_VECTOR;
    this.queueSelect = 0;
    this.device.queueMaxSizes.forEach((max, i) => (this.queues[i] = freshQueue(max)));
    this.lowerIntx();
  }

  /** ISR cleared: INTx deasserted (and STATUS.INTERRUPT with it). */
  private lowerIntx(): void {
    this.isr = 0;
    this.config.setU16(PCI_STATUS, this.config.getU16(PCI_STATUS) & ~PCI_STATUS_INTERRUPT);
    this.intx?.setLevel(false);
  }

  /** Runs device code for a guest access; a device that throws is logged and the access survives. */
  private guarded<T>(call: () => T, fallback: T): T {
    try {
      return call();
    } catch (err) {
      this.warn({ err: String(err) }, 'device failed a guest access');
      return fallback;
    }
  }

  private warn(obj: object, msg: string): void {
    this.log.warn({ device: this.name, ...obj }, `${this.name}: ${msg}`);
  }
}
