import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { StopCause, type GuestStop } from '../../../gen/hypervisor/engine/v1/engine_service';
import { BootFormat, DomainState, DomainStateReason, DomainType, LifecycleAction, type DomainSpec, type DomainStatus } from '../../../gen/hypervisor/v1/domain';
import { writeAcpiTables } from '../acpi';
import { EmulatedAccelerator, KvmAccelerator, type Accelerator, type VcpuExit } from '../accel';
import { setupLinuxBoot, setupPvhBoot, setupRawBoot, type BootCpuState } from '../boot';
import { ConsoleHub } from '../console';
import { isLoadedBzImage, loadKernel, readInitrd, type KernelFormat } from '../loader';
import type { Interrupts } from '../irq';
import { GuestMemoryMap } from '../memory/guest-memory-map';
import { GuestRam } from '../memory/guest-ram';
import { PCI_HOLE_END, ramRegions } from '../platform/layout';
import { BalloonStatsPoller } from '../virtio/balloon';
import type { LaunchFiles } from '../control/run-dir';
import { attachVirtioDevices, type AttachedBalloon, type AttachedVirtioDevices } from './attach-virtio-devices';
import { createPlatform, type Platform } from './platform';

/** Slice length while backend I/O a queue notify started may complete (a polling guest spins meanwhile). */
const SHORT_SLICE_MICROS = 50;
/** How many short slices follow a notify: about one default slice's worth. */
const SHORT_SLICES_AFTER_NOTIFY = 20;
/** Console bytes kept for clients that attach later. */
const SCROLLBACK_BYTES = 256 * 1024;
const TWO_POW_32 = 2 ** 32;

/**
 * running: slices are scheduled. parked: the vCPU halted and waits for an interrupt (uses no CPU). preserved: the
 * guest stopped and its lifecycle action is PRESERVE (memory and devices kept, no slices). stopped: torn down.
 */
type RunState = 'running' | 'parked' | 'preserved' | 'stopped';

export interface VmOptions {
  domainId: string;
  spec: DomainSpec;
  logger: Logger;
  /** The images hvd opened (an engine under hvd never opens the spec's paths); without them the paths are opened. */
  files?: LaunchFiles;
}

/**
 * One guest: RAM, the emulated accelerator, the platform devices and the console, and the vCPU loop with its one
 * exit switch. Emits 'stopped' with how the guest ended when it powers off, reboots under on_reboot DESTROY,
 * crashes or is stopped — or 'preserved' instead when the lifecycle action for that cause is PRESERVE; 'rebooted'
 * after each reset in place.
 */
export class Vm extends EventEmitter<{ stopped: [GuestStop]; preserved: [GuestStop]; rebooted: [DomainStatus]; deviceNeedsReset: [deviceId: string, why: string] }> {
  /** The serial console (COM1). */
  readonly console: ConsoleHub;
  readonly ram: GuestRam[];
  private readonly accel: Accelerator;
  private readonly platform: Platform;
  private readonly interrupts: Interrupts;
  /** spec.devices behind virtio-pci transports (attached by create()). */
  private virtio: AttachedVirtioDevices | undefined;
  /** Asks the balloon driver for statistics every stats_period_seconds (when the domain has a balloon). */
  private balloonStats: BalloonStatsPoller | undefined;
  private readonly logger: Logger;
  private state: RunState = 'running';
  /** vCPUs are not scheduled; a VM is created paused so hvd can attach before the first guest instruction. */
  private paused = true;
  private pendingStop: GuestStop | undefined;
  /** How the guest stopped while PRESERVE keeps the engine (state 'preserved'). */
  private preservedStop: GuestStop | undefined;
  private stateSince = new Date();
  /** Why the guest is RUNNING: BOOTED, or RESET once it rebooted in place. */
  private runningReason = DomainStateReason.DOMAIN_STATE_REASON_BOOTED;
  /** The guest pulled the reset line during the current slice; the reset happens when the slice has ended. */
  private resetRequested = false;
  /** A reset is reloading the kernel (asynchronous): no slices run until it is done. */
  private resetting = false;
  /** Slices left to run short after a virtio queue notify (backend completions arrive between slices). */
  private shortSlices = 0;
  vcpuExits = 0;

  private constructor(readonly options: VmOptions) {
    super();
    this.logger = options.logger;
    const memoryBytes = options.spec.memory?.currentBytes ?? 0;
    this.ram = ramRegions(memoryBytes).map((r) => new GuestRam(r.gpa, r.size));
    const handleExit = (exit: VcpuExit): void => this.handleExit(exit);
    this.accel = options.spec.type === DomainType.DOMAIN_TYPE_KVM ? new KvmAccelerator({ handleExit }) : new EmulatedAccelerator({ handleExit });
    for (const region of this.ram) region.attach(this.accel);
    // Everything below 4 GiB that is not RAM is MMIO, so a stray access reads all-ones as on real hardware.
    const lowEnd = this.ram[0].size;
    this.accel.mapMmio(lowEnd, PCI_HOLE_END - lowEnd);
    this.interrupts = this.accel.createInterrupts(this.logger);
    this.console = new ConsoleHub(SCROLLBACK_BYTES, (bytes) => this.platform.serial.enqueueInput(bytes));
    this.platform = createPlatform(
      {
        serialOutput: (byte) => this.console.putByte(byte),
        serialRxDrained: () => this.console.pump(),
        powerOff: () => this.powerOff('guest powered off (ACPI S5)'),
        debugExit: (code) =>
          this.stop(
            { ...status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN, `guest exited through the debug-exit port with status ${code}`), guestExitStatus: code },
            StopCause.STOP_CAUSE_POWEROFF,
          ),
        reset: () => this.onGuestReset(),
        panic: () => this.stop(status(DomainState.DOMAIN_STATE_CRASHED, DomainStateReason.DOMAIN_STATE_REASON_PANICKED, 'guest panicked (pvpanic)'), StopCause.STOP_CAUSE_CRASH),
      },
      {
        debugExit: options.spec.platform?.debugExit ?? false,
        logger: this.logger,
        interrupts: this.interrupts,
        lowMemoryBytes: this.ram[0].size,
        highMemoryBytes: this.ram[1]?.size ?? 0,
        vcpus: options.spec.vcpus?.current ?? 1,
      },
    );
  }

  /** Builds the VM and loads its kernel; throws (with the failing step) if the guest cannot be set up. */
  static async create(options: VmOptions): Promise<Vm> {
    const vm = new Vm(options);
    try {
      vm.accel.setBootState(await vm.loadBoot());
      vm.virtio = await attachVirtioDevices(options.spec.devices, {
        root: vm.platform.pci,
        memory: new GuestMemoryMap(vm.ram),
        msiSink: vm.interrupts.msi,
        doorbells: vm.accel.doorbells,
        logger: vm.logger,
        diskFds: options.files?.disks,
        onDeviceNeedsReset: (deviceId, why) => vm.emit('deviceNeedsReset', deviceId, why),
        onQueueNotify: () => {
          // End the slice so the backend starts now, and keep the next slices short so its completion is seen soon.
          vm.shortSlices = SHORT_SLICES_AFTER_NOTIFY;
          vm.accel.requestStop();
        },
        consoleScrollbackBytes: SCROLLBACK_BYTES,
      });
      const balloon = vm.virtio.balloon;
      if (balloon) {
        vm.balloonStats = new BalloonStatsPoller(balloon.device, balloon.statsPeriodSeconds);
        vm.balloonStats.start();
      }
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
    const format: KernelFormat = raw
      ? { kind: 'raw', loadAddress: boot.loadAddress, entry: boot.entryAddress }
      : { kind: boot.format === BootFormat.BOOT_FORMAT_LINUX ? 'linux' : 'auto' };
    const files = this.options.files;
    const kernel = await loadKernel(files ? { fd: files.kernel, path: boot.kernelPath } : boot.kernelPath, low, format);
    this.logger.info({ kernel: boot.kernelPath, entry: kernel.entry }, 'kernel loaded');
    if (raw) return setupRawBoot(low, { entry: kernel.entry, memoryBytes });
    // ACPI tables for the kernels that take boot information (a raw image might be loaded over them).
    // MCFG describes the ECAM window the platform decodes (PCI_ECAM_START, buses 0-255).
    const { rsdpGpa } = writeAcpiTables(low, { vcpus: this.options.spec.vcpus?.current ?? 1, ecam: {} });
    if (isLoadedBzImage(kernel)) {
      const initrdFile = files?.initrd !== undefined ? { fd: files.initrd, path: boot.initrdPath } : boot.initrdPath;
      const initrd = boot.initrdPath !== '' ? await readInitrd(initrdFile) : undefined;
      const linux = setupLinuxBoot(low, { entry: kernel.entry, kernel: kernel.linux, cmdline: boot.cmdline, memoryBytes, initrd, rsdpGpa });
      this.logger.info({ loadAddress: kernel.linux.loadAddress, zeroPage: linux.zeroPageGpa, initrd: linux.initrd }, 'Linux boot set up');
      return linux.cpu;
    }
    return setupPvhBoot(low, { entry: kernel.entry, cmdline: boot.cmdline, memoryBytes, rsdpGpa }).cpu;
  }

  /** A console by device id: '' is the serial console, otherwise a virtio-console device; undefined if none. */
  consoleFor(device: string): ConsoleHub | undefined {
    return device === '' ? this.console : this.virtio?.consoles.get(device);
  }

  /** The domain's balloon device, if it has one. */
  get balloon(): AttachedBalloon | undefined {
    return this.virtio?.balloon;
  }

  /** A hard reset asked by the host (ResetDomain): called between slices, so it runs at once. A preserved guest boots again. */
  async reset(): Promise<void> {
    if (this.state === 'stopped' || this.pendingStop || this.resetting) return;
    const preserved = this.state === 'preserved';
    this.preservedStop = undefined;
    // A preserved guest booting again is a start (hvd reports it), not a reboot.
    await this.resetInPlace(!preserved);
  }

  /** The guest pulled the reset line (inside a slice): on_reboot decides; the work happens after the slice. */
  private onGuestReset(): void {
    if (this.pendingStop || this.resetRequested) return;
    const action = this.options.spec.lifecycle?.onReboot ?? LifecycleAction.LIFECYCLE_ACTION_UNSPECIFIED;
    if (action === LifecycleAction.LIFECYCLE_ACTION_DESTROY || action === LifecycleAction.LIFECYCLE_ACTION_PRESERVE) {
      const name = action === LifecycleAction.LIFECYCLE_ACTION_DESTROY ? 'DESTROY' : 'PRESERVE';
      this.stop(status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN, `guest rebooted; on_reboot is ${name}`), StopCause.STOP_CAUSE_REBOOT);
      return;
    }
    // RESTART, libvirt's default: the accelerator may not be flushed from inside an exit, so end the slice first.
    this.resetRequested = true;
    this.accel.requestStop();
  }

  /**
   * Resets the VM in place, as a machine whose reset line was pulled: devices to power-on state, translated code
   * dropped, the kernel and boot structures (ACPI tables included) loaded again and the boot vCPU state applied.
   * The domain stays RUNNING, reason RESET, and 'rebooted' is emitted when `announce`. A kernel that can no longer
   * be loaded ends it CRASHED.
   */
  private async resetInPlace(announce = true): Promise<void> {
    this.resetting = true;
    this.accel.halt();
    this.platform.serial.reset();
    this.platform.pm.reset();
    this.platform.i8042.reset();
    this.platform.rtc.reset();
    this.platform.pci.reset();
    this.virtio?.reset();
    this.accel.flushAll();
    try {
      this.accel.setBootState(await this.loadBoot());
    } catch (err) {
      this.resetting = false;
      if (this.state === 'stopped') return; // destroyed while reloading: the accelerator is gone
      this.crash(`reset failed: the kernel could not be loaded again: ${(err as Error).message}`);
      return;
    }
    this.resetting = false;
    if (this.state === 'stopped' || this.pendingStop) return;
    this.logger.info('guest reset in place (on_reboot RESTART)');
    this.state = 'running';
    this.runningReason = DomainStateReason.DOMAIN_STATE_REASON_RESET;
    this.stateSince = new Date();
    if (announce) this.emit('rebooted', this.status());
    if (!this.paused) setImmediate(this.runSlices);
  }

  /** Stops scheduling vCPU slices. Slices run between event-loop turns, so none is running when this is called. */
  pause(): void {
    if (this.paused || this.state === 'stopped') return;
    this.paused = true;
    this.accel.halt();
    this.stateSince = new Date();
  }

  /** Runs the vCPUs; `reason` is what status() reports while RUNNING (BOOTED, UNPAUSED, …). */
  resume(reason: DomainStateReason = DomainStateReason.DOMAIN_STATE_REASON_UNPAUSED): void {
    if (!this.paused || this.state === 'stopped') return;
    this.paused = false;
    this.runningReason = reason;
    this.stateSince = new Date();
    if (this.state === 'running' && !this.resetting) setImmediate(this.runSlices);
  }

  /** The ACPI power button: a cooperative guest sees PWRBTN_STS and powers itself off (S5). */
  pressPowerButton(): void {
    this.platform.pm.pressPowerButton();
  }

  /** Ends the guest with this final status at the end of the current slice (or now, if none runs). */
  stop(final: DomainStatus, cause: StopCause): void {
    if (this.state === 'stopped' || this.pendingStop) return;
    this.pendingStop = { status: final, cause };
    if (this.state === 'running' && !this.paused && !this.resetting) this.accel.requestStop();
    else this.finish();
  }

  /** Set while the guest is stopped and PRESERVE keeps it. */
  get preserved(): GuestStop | undefined {
    return this.state === 'preserved' ? this.preservedStop : undefined;
  }

  status(): DomainStatus {
    if (this.state === 'stopped' && this.pendingStop?.status) return this.pendingStop.status;
    if (this.state === 'preserved' && this.preservedStop?.status) return this.preservedStop.status;
    if (this.paused) return status(DomainState.DOMAIN_STATE_PAUSED, DomainStateReason.DOMAIN_STATE_REASON_USER, '', this.stateSince);
    const halted = this.state === 'parked' ? 'vCPU halted' : '';
    return status(DomainState.DOMAIN_STATE_RUNNING, this.runningReason, halted, this.stateSince);
  }

  /** One time slice, then back to the event loop so sockets (console, control) are served between slices. */
  private readonly runSlices = (): void => {
    if (this.state !== 'running' || this.paused || this.resetting) return;
    const short = this.shortSlices > 0;
    if (short) this.shortSlices--;
    this.accel.runSlice(short ? SHORT_SLICE_MICROS : undefined);
    this.console.flush();
    this.virtio?.consoles.forEach((hub) => hub.flush());
    if (this.pendingStop) return this.finish();
    if (this.resetRequested) {
      this.resetRequested = false;
      void this.resetInPlace();
      return;
    }
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
      case 'system-event':
        if (exit.event === 'shutdown') return this.powerOff('guest powered off (hypervisor system event)');
        if (exit.event === 'reset') return this.onGuestReset();
        return this.crash('guest reported a crash (hypervisor system event)');
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

  private powerOff(message: string): void {
    this.stop(status(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN, message), StopCause.STOP_CAUSE_POWEROFF);
  }

  private crash(message: string): void {
    this.logger.warn({ message }, 'guest crashed');
    this.stop(status(DomainState.DOMAIN_STATE_CRASHED, DomainStateReason.DOMAIN_STATE_REASON_CRASHED, message), StopCause.STOP_CAUSE_CRASH);
  }

  private finish(): void {
    if (this.state === 'stopped' || !this.pendingStop) return;
    if (this.state !== 'preserved' && this.actionFor(this.pendingStop.cause) === LifecycleAction.LIFECYCLE_ACTION_PRESERVE) return this.preserve();
    this.state = 'stopped';
    this.accel.close();
    this.balloonStats?.stop();
    void this.virtio?.close();
    // 'stopped' first: the exit record is on disk before any console client sees its stream end.
    this.emit('stopped', this.pendingStop);
    this.console.close();
    this.virtio?.consoles.forEach((hub) => hub.close());
  }

  /** The lifecycle action the spec gives for a stop cause; host-side stops (destroy, failure) have none. */
  private actionFor(cause: StopCause | undefined): LifecycleAction | undefined {
    const lifecycle = this.options.spec.lifecycle;
    if (cause === StopCause.STOP_CAUSE_POWEROFF) return lifecycle?.onPoweroff;
    if (cause === StopCause.STOP_CAUSE_REBOOT) return lifecycle?.onReboot;
    if (cause === StopCause.STOP_CAUSE_CRASH) return lifecycle?.onCrash;
    return undefined;
  }

  /**
   * PRESERVE (libvirt's on_crash=preserve): the vCPUs stay stopped with RAM, devices, console and control socket
   * kept, until a destroy ends the engine or a reset boots the guest again. A power-off or reboot is reported as
   * SHUTDOWN (shut down, still active), a crash keeps its CRASHED state and reason.
   */
  private preserve(): void {
    const stop = this.pendingStop!;
    this.pendingStop = undefined;
    this.accel.halt();
    const final = stop.status!;
    const state = final.state === DomainState.DOMAIN_STATE_SHUTOFF ? DomainState.DOMAIN_STATE_SHUTDOWN : final.state;
    this.preservedStop = { cause: stop.cause, status: { ...final, state, message: `${final.message}; preserved (vCPUs stopped)`, stateTime: new Date() } };
    this.state = 'preserved';
    this.stateSince = new Date();
    this.logger.info({ message: final.message }, 'guest stopped; PRESERVE keeps the engine');
    this.emit('preserved', this.preservedStop);
  }
}

function status(state: DomainState, reason: DomainStateReason, message = '', since = new Date()): DomainStatus {
  return { state, reason, stateTime: since, enginePid: process.pid, guestExitStatus: undefined, message };
}
