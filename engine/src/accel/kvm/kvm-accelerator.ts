/**
 * The kvm accelerator on the event-loop thread: one VM with one vCPU, run in time slices like the emulated one, so
 * the VM's loop and its one exit switch stay the same. Set-up steps (constructor):
 *   1. open /dev/kvm, check KVM_API_VERSION, KVM_CREATE_VM;
 *   2. KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR at pages no RAM or device uses (VMX needs them);
 *   3. KVM_CREATE_IRQCHIP (PIC, IOAPIC, LAPIC in the kernel) and KVM_CREATE_PIT2;
 *   4. KVM_CREATE_VCPU, KVM_SET_CPUID2 with the filtered supported CPUID, KVM_SET_MSRS with the boot MSRs.
 * runSlice(): KVM_RUN with the slice as its timeout (a kick signal ends it; see engine/native/src/kvm-vcpu.h), each
 * exit dispatched to handleExit, until the slice is over, a stop is requested (immediate_exit), or an exit ends it.
 * Guest RAM is KVM memory slots over the same GuestMemory mappings JS writes: KVM runs guest code straight from
 * them, so there is no translation cache to invalidate.
 */
import { isGuestMemory, native, PAGE_SIZE, type GuestMemory } from '../../native';
import type { NativeKvm, NativeVcpuFd, NativeVmFd } from '../../native/addon';
import type {
  Accelerator,
  BootState,
  GeneralRegs,
  GeneralRegsInput,
  SliceOutcome,
  SpecialRegs,
} from '../accelerator';
import { createReusableExit, type ExitHandler, type ReusableExit } from '../exit';
import { bootMsrEntries, encodeMsrEntries } from './boot-msrs';
import { decodeCpuidEntries, encodeCpuidEntries, filterCpuid } from './cpuid-filter';
import { KVM_PIT_SPEAKER_DUMMY, KVM_REGS_SIZE, KVM_RUN_SIZE, KVM_SREGS_SIZE } from './kvm-abi';
import { decodeKvmRegs, encodeKvmRegs, encodeKvmSregs } from './kvm-registers';
import { dispatchKvmExit, setImmediateExit } from './kvm-exit-decoder';
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
/** Errno values run() returns when KVM_RUN ended without an exit. */
const EINTR = 4;

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
  private readonly kvm: NativeKvm;
  private readonly vm: NativeVmFd;
  private readonly vcpu: NativeVcpuFd;
  private readonly run: Uint8Array;
  private readonly exit: ReusableExit = createReusableExit();
  private readonly regsBytes = new Uint8Array(KVM_REGS_SIZE);
  private readonly sregsBytes = new Uint8Array(KVM_SREGS_SIZE);
  private readonly handleExit: ExitHandler;
  private readonly sliceMicros: number;
  private nextSlot = 0;
  private interrupts: KvmInterrupts | undefined;
  private stopRequested = false;
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
      // Step 2.
      this.vm.setTssAddr(KVM_TSS_ADDRESS);
      this.vm.setIdentityMapAddr(KVM_IDENTITY_MAP_ADDRESS);
      // Step 3.
      this.vm.createIrqchip();
      this.vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
      // Step 4.
      this.vcpu = new native.VcpuFd(this.vm, 0);
      opened.push(this.vcpu);
      this.run = new Uint8Array(this.vcpu.runBuffer);
      if (this.run.byteLength < KVM_RUN_SIZE) throw new Error(`kvm_run mapping is ${this.run.byteLength} bytes`);
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
    this.vcpu.getRegs(this.regsBytes);
    return decodeKvmRegs(this.regsBytes);
  }

  setRegs(regs: GeneralRegsInput): void {
    this.vcpu.getRegs(this.regsBytes);
    encodeKvmRegs(this.regsBytes, regs);
    this.vcpu.setRegs(this.regsBytes);
  }

  setSregs(sregs: SpecialRegs): void {
    this.vcpu.getSregs(this.sregsBytes);
    encodeKvmSregs(this.sregsBytes, sregs);
    this.vcpu.setSregs(this.sregsBytes);
  }

  runSlice(sliceMicros = this.sliceMicros): SliceOutcome {
    const deadline = performance.now() + sliceMicros / 1000;
    for (;;) {
      const left = Math.max(1, Math.round((deadline - performance.now()) * 1000));
      const errno = this.vcpu.run(left);
      if (errno !== 0) {
        if (errno === EINTR && this.stopRequested) return this.takeStop();
        return 'slice-end';
      }
      const outcome = dispatchKvmExit(this.run, this.exit, this.handleExit);
      // A stop requested from inside handleExit: the next KVM_RUN completes this exit's I/O before the guest goes on.
      if (this.stopRequested) return outcome ?? this.takeStop();
      if (outcome !== null) return outcome;
      if (performance.now() >= deadline) return 'slice-end';
    }
  }

  requestStop(): void {
    this.stopRequested = true;
    setImmediateExit(this.run, true);
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
    this.interrupts?.close();
    this.vcpu.close();
    this.vm.close();
    this.kvm.close();
  }

  private takeStop(): SliceOutcome {
    this.stopRequested = false;
    setImmediateExit(this.run, false);
    return 'stop-requested';
  }
}
