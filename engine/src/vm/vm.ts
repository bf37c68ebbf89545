import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { BootFormat, DomainState, DomainStateReason, type DomainSpec, type DomainStatus } from '../../../gen/hypervisor/v1/domain';
import { EmulatedAccelerator, type Accelerator, type VcpuExit } from '../accel';
import { setupPvhBoot, setupRawBoot, type BootCpuState } from '../boot';
import { ConsoleHub } from '../console';
import { loadKernel, type KernelFormat } from '../loader';
import { GuestRam } from '../memory/guest-ram';
import { PCI_HOLE_END, ramRegions } from '../platform/layout';
import { createPlatform, type Platform } from './platform';

/** Console bytes kept for clients that attach later. */
const SCROLLBACK_BYTES = 256 * 1024;
const TWO_POW_32 = 2 ** 32;

/** running: slices are scheduled. parked: the vCPU halted and waits for an interrupt (uses no CPU). */
type RunState = 'running' | 'parked' | 'stopped';

export interface VmOptions {
  domainId: string;
  spec: DomainSpec;
  logger: Logger;
}

/**
 * One guest: RAM, the emulated accelerator, the platform devices and the console, and the vCPU loop with its one
 * exit switch. Emits 'stopped' with the final DomainStatus when the guest powers off, crashes or is stopped.
 */
export class Vm extends EventEmitter<{ stopped: [DomainStatus] }> {
  readonly console: ConsoleHub;
  readonly ram: GuestRam[];
  private readonly accel: Accelerator;
  private readonly platform: Platform;
  private readonly logger: Logger;
  private state: RunState = 'running';
  /** vCPUs are not scheduled; a VM is created paused so hvd can attach before the first guest instruction. */
  private paused = true;
  private pendingStop: DomainStatus | undefined;
  private stateSince = new Date();
  vcpuExits = 0;

  private constructor(readonly options: VmOptions) {
    super();
    this.logger = options.logger;
    const memoryBytes = options.spec.memory?.currentBytes ?? 0;
    this.ram = ramRegions(memoryBytes).map((r) => new GuestRam(r.gpa, r.size));
    this.accel = new EmulatedAccelerator({ handleExit: (exit) => this.handleExit(exit) });
    for (const region of this.ram) region.attach(this.accel);
    // Everything below 4 GiB that is not RAM is MMIO, so a stray access reads all-ones as on real hardware.
    const lowEnd = this.ram[0].size;
    this.accel.mapMmio(lowEnd, PCI_HOLE_END - lowEnd);
    this.console = new ConsoleHub(SCROLLBACK_BYTES, (bytes) => this.platform.serial.enqueueInput(bytes));
    this.platform = createPlatform(
      {
        serialOutput: (byte) => this.console.putByte(byte),
        serialRxDrained: () => this.console.pump(),
        powerOff: () => this.stop(status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN, 'guest powered off (ACPI S5)')),
        debugExit: (code) =>
          this.stop({ ...status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN, `guest exited through the debug-exit port with status ${code}`), guestExitStatus: code }),
      },
      { debugExit: options.spec.platform?.debugExit ?? false, logger: this.logger },
    );
  }

  /** Builds the VM and loads its kernel; throws (with the failing step) if the guest cannot be set up. */
  static async create(options: VmOptions): Promise<Vm> {
    const vm = new Vm(options);
    try {
      vm.accel.setBootState(await vm.loadBoot());
    } catch (err) {
      vm.accel.close();
      throw err;
    }
    return vm;
  }

  private async loadBoot(): Promise<BootCpuState> {
    const boot = this.options.spec.boot;
    if (!boot) throw new Error('spec has no boot section');
    const memoryBytes = this.options.spec.memory?.currentBytes ?? 0;
    const low = this.ram[0];
    const raw = boot.format === BootFormat.BOOT_FORMAT_RAW;
    const format: KernelFormat = raw ? { kind: 'raw', loadAddress: boot.loadAddress, entry: boot.entryAddress } : { kind: 'auto' };
    const kernel = await loadKernel(boot.kernelPath, low, format);
    this.logger.info({ kernel: boot.kernelPath, entry: kernel.entry }, 'kernel loaded');
    if (raw) return setupRawBoot(low, { entry: kernel.entry, memoryBytes });
    return setupPvhBoot(low, { entry: kernel.entry, cmdline: boot.cmdline, memoryBytes }).cpu;
  }

  /** Stops scheduling vCPU slices. Slices run between event-loop turns, so none is running when this is called. */
  pause(): void {
    if (this.paused || this.state === 'stopped') return;
    this.paused = true;
    this.stateSince = new Date();
  }

  resume(): void {
    if (!this.paused || this.state === 'stopped') return;
    this.paused = false;
    this.stateSince = new Date();
    if (this.state === 'running') setImmediate(this.runSlices);
  }

  /** Ends the guest with this final status at the end of the current slice (or now, if none runs). */
  stop(final: DomainStatus): void {
    if (this.state === 'stopped' || this.pendingStop) return;
    this.pendingStop = final;
    if (this.state === 'running' && !this.paused) this.accel.requestStop();
    else this.finish();
  }

  status(): DomainStatus {
    if (this.state === 'stopped' && this.pendingStop) return this.pendingStop;
    if (this.paused) return status(DomainState.DOMAIN_STATE_PAUSED, DomainStateReason.DOMAIN_STATE_REASON_USER, '', this.stateSince);
    const halted = this.state === 'parked' ? 'vCPU halted' : '';
    return status(DomainState.DOMAIN_STATE_RUNNING, DomainStateReason.DOMAIN_STATE_REASON_BOOTED, halted, this.stateSince);
  }

  /** One time slice, then back to the event loop so sockets (console, control) are served between slices. */
  private readonly runSlices = (): void => {
    if (this.state !== 'running' || this.paused) return;
    this.accel.runSlice();
    this.console.flush();
    if (this.pendingStop) return this.finish();
    if (this.state === 'running' && !this.paused) setImmediate(this.runSlices);
  };

  /** The one exit switch: every exit of every accelerator ends here. */
  private handleExit(exit: VcpuExit): void {
    this.vcpuExits++;
    switch (exit.kind) {
      case 'io-in':
        exit.data = this.platform.pio.read(exit.port, exit.size);
        return;
      case 'io-out':
        this.platform.pio.write(exit.port, exit.size, exit.data);
        return;
      case 'mmio-read':
        if (exit.size === 8) {
          const value = this.platform.mmio.read(exit.address, 8);
          exit.data = value % TWO_POW_32;
          exit.dataHigh = Math.floor(value / TWO_POW_32);
        } else {
          exit.data = this.platform.mmio.read(exit.address, exit.size);
        }
        return;
      case 'mmio-write':
        if (exit.size === 8) this.platform.mmio.write64(exit.address, exit.data, exit.dataHigh);
        else this.platform.mmio.write(exit.address, exit.size, exit.data);
        return;
      case 'hlt':
        // Nothing can wake it on emulated (no interrupt injection): it stays RUNNING, parked, using no CPU.
        this.state = 'parked';
        return;
      case 'shutdown':
        return this.crash('triple fault');
      case 'exception':
        return this.crash(`CPU exception vector ${exit.vector} (the emulated CPU cannot deliver exceptions: treated as a triple fault)`);
      case 'unmapped':
        return this.crash(`${exit.access} of ${exit.size} bytes at unmapped guest-physical address 0x${exit.address.toString(16)}`);
      case 'internal-error':
        this.logger.error({ code: exit.code }, exit.message);
        return this.crash(`internal accelerator error: ${exit.message}`);
      default: {
        const unreachable: never = exit;
        throw new Error(`unhandled vCPU exit ${(unreachable as VcpuExit).kind}`);
      }
    }
  }

  private crash(message: string): void {
    this.logger.warn({ message }, 'guest crashed');
    this.stop(status(DomainState.DOMAIN_STATE_CRASHED, DomainStateReason.DOMAIN_STATE_REASON_CRASHED, message));
  }

  private finish(): void {
    if (this.state === 'stopped' || !this.pendingStop) return;
    this.state = 'stopped';
    this.console.close();
    this.accel.close();
    this.emit('stopped', this.pendingStop);
  }
}

function status(state: DomainState, reason: DomainStateReason, message = '', since = new Date()): DomainStatus {
  return { state, reason, stateTime: since, enginePid: process.pid, guestExitStatus: undefined, message };
}
