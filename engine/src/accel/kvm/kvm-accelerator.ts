/**
 * The kvm accelerator: one VM with one vCPU running on a native thread of its own (DESIGN.md), its exits handed to
 * the event-loop thread, which drains them in time slices like the emulated one, so the VM's loop and its one exit
 * switch stay the same. Set-up steps (constructor):
 *   1. open /dev/kvm, check KVM_API_VERSION, KVM_CREATE_VM;
 *   2. KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR at pages no RAM or device uses (VMX needs them);
 *   3. KVM_CREATE_IRQCHIP (PIC, IOAPIC, LAPIC in the kernel) and KVM_CREATE_PIT2;
 *   4. KVM_CREATE_VCPU, KVM_SET_CPUID2 with the filtered supported CPUID, KVM_SET_MSRS with the boot MSRs.
 * runSlice(): starts the vCPU thread if it is not running, then hands its exits to handleExit (vcpu-thread-exits.ts)
 * until the slice is over, a handler ends it (requestStop; the vCPU runs on) or a final exit ends the thread.
 * halt() stops the vCPU between slices (pause, reset, register access); the next runSlice runs it on a new thread.
 * Guest RAM is KVM memory slots over the same GuestMemory mappings JS writes: KVM runs guest code straight from
 * them, so there is no translation cache to invalidate.
 */
import { isGuestMemory, native, PAGE_SIZE, type GuestMemory } from '../../native';
import type { NativeKvm, NativeVcpuFd, NativeVcpuThread, NativeVmFd } from '../../native/addon';
import type {
  Accelerator,
  BootState,
  GeneralRegs,
  GeneralRegsInput,
  SliceOutcome,
  SpecialRegs,
} from '../accelerator';
import type { ExitHandler } from '../exit';
import { bootMsrEntries, encodeMsrEntries } from './boot-msrs';
import { decodeCpuidEntries, encodeCpuidEntries, filterCpuid } from './cpuid-filter';
import { KVM_PIT_SPEAKER_DUMMY, KVM_REGS_SIZE, KVM_RUN_SIZE, KVM_SREGS_SIZE } from './kvm-abi';
import { decodeKvmRegs, encodeKvmRegs, encodeKvmSregs } from './kvm-registers';
import { VcpuThreadExits } from './vcpu-thread-exits';
import { KvmDoorbells } from './kvm-doorbells';
import { KvmInterrupts } from './kvm-interrupts';
import type { WarnLogger } from '../../bus';
import type { Interrupts } from '../../irq/interrupts';

/** KVM_SET_TSS_ADDR: three pages just below the identity map page, in the top of the PCI hole no device uses. */
export const KVM_TSS_ADDRESS = 0xfffb_d000;
/** KVM_SET_IDENTITY_MAP_ADDR: one page (as Firecracker and QEMU place it). */
export const KVM_IDENTITY_MAP_ADDRESS = 0xfffb_c000;
/** KVM_API_VERSION every kernel since 2.6.22 reports. */
export const KVM_API_VERSION = 12;
/** Default slice, as the emulated accelerator's: about a millisecond keeps the loop responsive. */
export const DEFAULT_KVM_SLICE_MICROS = 1000;

export interface KvmAcceleratorOptions {
  handleExit: ExitHandler;
  /** Default /dev/kvm. */
  devicePath?: string;
  /** Time slice in microseconds (default DEFAULT_KVM_SLICE_MICROS). */
  sliceMicros?: number;
  /** Hypervisor signature in CPUID 0x40000000 (default KVM's). */
  hypervisorSignature?: string;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is not in 0..${max}`);
}

function checkPageAligned(name: string, value: number): void {
  checkUint(name, value, Number.MAX_SAFE_INTEGER);
  if (value % PAGE_SIZE !== 0) throw new RangeError(`${name} ${value} is not a multiple of ${PAGE_SIZE}`);
}

export class KvmAccelerator implements Accelerator {
  readonly type = 'kvm' as const;
  readonly doorbells: KvmDoorbells;
  private readonly kvm: NativeKvm;
  private readonly vm: NativeVmFd;
  private readonly vcpu: NativeVcpuFd;
  /** The running vCPU thread and its exit hand-off (none while halted). */
  private thread: { native: NativeVcpuThread; exits: VcpuThreadExits } | undefined;
  /** A slice end requested while no thread ran: the next slice ends at once. */
  private stopRequested = false;
  private readonly regsBytes = new Uint8Array(KVM_REGS_SIZE);
  private readonly sregsBytes = new Uint8Array(KVM_SREGS_SIZE);
  private readonly handleExit: ExitHandler;
  private readonly sliceMicros: number;
  private nextSlot = 0;
  private interrupts: KvmInterrupts | undefined;
  private closed = false;

  constructor(options: KvmAcceleratorOptions) {
    if (typeof options.handleExit !== 'function') throw new TypeError('handleExit must be a function');
    const sliceMicros = options.sliceMicros ?? DEFAULT_KVM_SLICE_MICROS;
    checkUint('sliceMicros', sliceMicros, 60_000_000);
    if (sliceMicros === 0) throw new RangeError('sliceMicros must not be 0');
    this.handleExit = options.handleExit;
    this.sliceMicros = sliceMicros;
    // Step 1.
    this.kvm = new native.Kvm(options.devicePath);
    const opened: { close(): void }[] = [this.kvm];
    try {
      const version = this.kvm.apiVersion();
      if (version !== KVM_API_VERSION) throw new Error(`KVM API version ${version}, need ${KVM_API_VERSION}`);
      this.vm = new native.VmFd(this.kvm);
      opened.push(this.vm);
      this.doorbells = new KvmDoorbells(this.vm, () => new native.EventFd());
      // Step 2.
      this.vm.setTssAddr(KVM_TSS_ADDRESS);
      this.vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDRESS);
      // Step 3.
      this.vm.createIrqchip();
      this.vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
      // Step 4.
      this.vcpu = new native.VcpuFd(this.vm, 0);
      opened.push(this.vcpu);
      const run = this.vcpu.runBuffer.byteLength;
      if (run < KVM_RUN_SIZE) throw new Error(`kvm_run mapping is ${run} bytes`);
      const tscDeadline = this.kvm.checkExtension(native.kvmConstants.KVM_CAP_TSC_DEADLINE_TIMER) > 0;
      const cpuid = filterCpuid(decodeCpuidEntries(this.kvm.supportedCpuid()), {
        vcpuId: 0,
        vcpuCount: 1,
        tscDeadline,
        ...(options.hypervisorSignature !== undefined ? { hypervisorSignature: options.hypervisorSignature } : {}),
      });
      this.vcpu.setCpuid2(encodeCpuidEntries(cpuid));
      const msrs = bootMsrEntries(this.kvm.msrIndexList());
      const set = this.vcpu.setMsrs(encodeMsrEntries(msrs));
      if (set !== msrs.length) throw new Error(`KVM_SET_MSRS set ${set} of ${msrs.length} boot MSRs (stopped at 0x${msrs[set]?.index.toString(16)})`);
    } catch (error) {
      for (const fd of opened.reverse()) fd.close();
      throw error;
    }
  }

  mapRam(gpa: number, memory: GuestMemory): void {
    checkPageAligned('gpa', gpa);
    if (!isGuestMemory(memory)) throw new TypeError('mapRam needs a GuestMemory from createGuestMemory');
    this.vm.setUserMemoryRegion(this.nextSlot, 0, gpa, memory);
    this.nextSlot++;
  }

  /** Every guest-physical address outside a memory slot already exits as KVM_EXIT_MMIO: nothing to map. */
  mapMmio(gpa: number, size: number): void {
    checkPageAligned('gpa', gpa);
    checkPageAligned('size', size);
    if (size === 0) throw new RangeError('MMIO size must not be 0');
  }

  setBootState(state: BootState): void {
    this.setSregs(state.sregs);
    this.setRegs(state.regs);
  }

  getRegs(): GeneralRegs {
    this.halt();
    this.vcpu.getRegs(this.regsBytes);
    return decodeKvmRegs(this.regsBytes);
  }

  setRegs(regs: GeneralRegsInput): void {
    this.halt();
    this.vcpu.getRegs(this.regsBytes);
    encodeKvmRegs(this.regsBytes, regs);
    this.vcpu.setRegs(this.regsBytes);
  }

  setSregs(sregs: SpecialRegs): void {
    this.halt();
    this.vcpu.getSregs(this.sregsBytes);
    encodeKvmSregs(this.sregsBytes, sregs);
    this.vcpu.setSregs(this.sregsBytes);
  }

  runSlice(sliceMicros = this.sliceMicros): SliceOutcome {
    if (this.stopRequested) return this.takeStop();
    const thread = this.thread ?? this.startThread();
    const outcome = thread.exits.drainSlice(sliceMicros);
    if (thread.exits.ended) this.joinThread();
    return outcome;
  }

  requestStop(): void {
    if (this.thread) this.thread.exits.endSlice();
    else this.stopRequested = true;
  }

  /** Stops the vCPU thread, handling the exits it still hands over (reads answered), and joins it. */
  halt(): void {
    if (!this.thread) return;
    this.thread.exits.halt();
    this.joinThread();
  }

  /** The in-kernel PIC/IOAPIC (KVM_CREATE_IRQCHIP, step 3) for legacy lines, irqfds with GSI routes for MSIs. */
  createInterrupts(logger?: WarnLogger): Interrupts {
    if (this.interrupts) throw new Error('the KVM interrupt controller was created already');
    this.interrupts = new KvmInterrupts(this.vm, logger);
    return this.interrupts;
  }

  /** KVM runs guest code straight from RAM: nothing is cached from it. */
  invalidate(gpa: number, length: number): void {
    checkUint('gpa', gpa, Number.MAX_SAFE_INTEGER);
    checkUint('length', length, Number.MAX_SAFE_INTEGER - gpa);
  }

  flushAll(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.joinThread();
    this.doorbells.close();
    this.interrupts?.close();
    this.vcpu.close();
    this.vm.close();
    this.kvm.close();
  }

  private takeStop(): SliceOutcome {
    this.stopRequested = false;
    return 'stop-requested';
  }

  private startThread(): NonNullable<KvmAccelerator['thread']> {
    const thread = new native.VcpuThread(this.vcpu);
    const exits = new VcpuThreadExits(thread, this.handleExit);
    thread.start();
    this.thread = { native: thread, exits };
    return this.thread;
  }

  /** Joins the thread (cancelling it if it still runs: only close() gets here with a live one). */
  private joinThread(): void {
    this.thread?.native.stop();
    this.thread = undefined;
  }
}
