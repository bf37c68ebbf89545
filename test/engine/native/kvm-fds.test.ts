/**
 * The wrapped KVM kernel objects. Here (no /dev/kvm) the error paths run: wrong objects are refused before any
 * ioctl, a device that is not KVM fails every ioctl with its errno, eventfds work. Where /dev/kvm opens, the
 * whole set-up a VMM does runs against the real kernel.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KVM_IOEVENTFD_FLAG_DATAMATCH,
  KVM_IOEVENTFD_FLAG_PIO,
  KVM_PIT_SPEAKER_DUMMY,
  KVM_REGS_SIZE,
  KVM_RUN_SIZE,
  KVM_SREGS,
  KVM_SREGS_SIZE,
} from '../../../engine/src/accel/kvm/kvm-abi';
import { bootMsrEntries, decodeMsrEntries, encodeMsrEntries } from '../../../engine/src/accel/kvm/boot-msrs';
import { decodeCpuidEntries, encodeCpuidEntries, filterCpuid, findCpuid } from '../../../engine/src/accel/kvm/cpuid-filter';
import { buildGsiRouting, encodeGsiRouting } from '../../../engine/src/accel/kvm/gsi-routing';
import { createGuestMemory, native } from '../../../engine/src/native';
import { kvmUnavailableReason } from '../accel/kvm/kvm-available';

const skipReason = kvmUnavailableReason();
if (skipReason) console.log(`KVM tests skipped: ${skipReason}`);

describe('KVM objects without KVM', () => {
  it('refuses a VmFd on anything but a Kvm, and a VcpuFd on anything but a VmFd', () => {
    expect(() => new native.VmFd({} as never)).toThrow(TypeError);
    expect(() => new native.VmFd(createGuestMemory(4096) as never)).toThrow(/expected a Kvm/);
    const kvm = new native.Kvm('/dev/null');
    expect(() => new native.VcpuFd(kvm as never, 0)).toThrow(/expected a VmFd/);
    kvm.close();
  });

  it('reports every system ioctl on a device that is not KVM with ENOTTY', () => {
    const kvm = new native.Kvm('/dev/null');
    for (const call of [() => kvm.vcpuMmapSize(), () => kvm.supportedCpuid(), () => kvm.msrIndexList(), () => new native.VmFd(kvm)]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ENOTTY', errno: 25 }));
    }
    kvm.close();
    expect(() => kvm.supportedCpuid()).toThrow(/closed/);
  });

  it('gives eventfds that count writes and read as 0 when idle', () => {
    const event = new native.EventFd();
    expect(event.fd).toBeGreaterThan(2);
    expect(event.read()).toBe(0);
    event.write();
    event.write(41);
    expect(event.read()).toBe(42);
    expect(event.read()).toBe(0);
    event.close();
    expect(() => event.read()).toThrow(/closed/);
    event.close();
  });
});

describe.skipIf(skipReason !== undefined)('KVM objects on /dev/kvm', () => {
  it('creates a VM with irqchip, PIT, memory, a vCPU, CPUID, MSRs, ioeventfd, irqfd and MSI routing', () => {
    const kvm = new native.Kvm();
    const vm = new native.VmFd(kvm);
    vm.setTssAddr(0xfffb_d000);
    vm.setIdentityMapAddr(0xfffb_c000);
    vm.createIrqchip();
    vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
    const ram = createGuestMemory(2 * 1024 * 1024);
    vm.setUserMemoryRegion(0, 0, 0, ram);
    const vcpu = new native.VcpuFd(vm, 0);
    expect(vcpu.runBuffer.byteLength).toBe(kvm.vcpuMmapSize());
    expect(vcpu.runBuffer.byteLength).toBeGreaterThanOrEqual(KVM_RUN_SIZE);

    const supported = decodeCpuidEntries(kvm.supportedCpuid());
    expect(findCpuid(supported, 0)).toBeDefined();
    vcpu.setCpuid2(encodeCpuidEntries(filterCpuid(supported, { vcpuId: 0, vcpuCount: 1 })));
    const msrs = bootMsrEntries(kvm.msrIndexList());
    expect(vcpu.setMsrs(encodeMsrEntries(msrs))).toBe(msrs.length);
    const readBack = encodeMsrEntries(msrs.map((m) => ({ index: m.index, data: 0n })));
    expect(vcpu.getMsrs(readBack)).toBe(msrs.length);
    const mtrr = decodeMsrEntries(readBack).find((m) => m.index === 0x2ff);
    if (mtrr) expect(mtrr.data).toBe((1n << 11n) | 6n);

    const sregs = new Uint8Array(KVM_SREGS_SIZE);
    vcpu.getSregs(sregs);
    vcpu.setSregs(sregs);
    const regs = new Uint8Array(KVM_REGS_SIZE);
    vcpu.getRegs(regs);
    expect(new DataView(regs.buffer).getBigUint64(128, true)).toBe(0xfff0n); // reset vector RIP
    expect(new DataView(sregs.buffer).getUint16(KVM_SREGS.cs + 12, true)).toBe(0xf000);

    const notify = new native.EventFd();
    vm.ioeventfd(notify.fd, 0xc000_0000, 2, KVM_IOEVENTFD_FLAG_DATAMATCH, 3);
    vm.ioeventfd(notify.fd, 0x510, 2, KVM_IOEVENTFD_FLAG_PIO);
    const irq = new native.EventFd();
    const { routes, rejected } = buildGsiRouting([{ gsi: 24, message: { address: 0xfee0_0000, data: 0x41, masked: false } }]);
    expect(rejected).toEqual([]);
    vm.setGsiRouting(encodeGsiRouting(routes));
    vm.irqfd(irq.fd, 24, 0);
    vm.irqLine(4, 1);
    vm.irqLine(4, 0);
    for (const o of [irq, notify, vcpu, vm, kvm]) o.close();
  });

  it('fails KVM_SET_USER_MEMORY_REGION on an overlapping slot with EEXIST', () => {
    const kvm = new native.Kvm();
    const vm = new native.VmFd(kvm);
    const ram = createGuestMemory(1024 * 1024);
    vm.setUserMemoryRegion(0, 0, 0, ram);
    expect(() => vm.setUserMemoryRegion(1, 0, 0, createGuestMemory(4096))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    vm.setUserMemoryRegion(0, 0, 0, null);
    vm.close();
    kvm.close();
  });
});
