/**
 * The boot state travels to KVM as kvm_sregs/kvm_regs bytes. Proof that the bytes carry exactly the state boot
 * code computed: the test guest's PVH entry is encoded as KVM would receive it, decoded back, and the emulated CPU
 * entered from the decoded state runs the guest to its first lines on COM1. (Unicorn reloads segment caches from the
 * GDT by selector, so the hidden segment fields are proven by the exact round trip, the rest by the run.)
 */
import { describe, expect, inject, it } from 'vitest';
import { EmulatedAccelerator } from '../../../../engine/src/accel/emulated-accelerator';
import type { VcpuExit } from '../../../../engine/src/accel/exit';
import { KVM_REGS_SIZE, KVM_SREGS_SIZE } from '../../../../engine/src/accel/kvm/kvm-abi';
import { decodeKvmRegs, decodeKvmSregs, encodeKvmRegs, encodeKvmSregs } from '../../../../engine/src/accel/kvm/kvm-registers';
import { setupPvhBoot } from '../../../../engine/src/boot/setup-boot';
import { loadKernel } from '../../../../engine/src/loader/kernel-loader';
import { GuestRam } from '../../../../engine/src/memory/guest-ram';

const guests = inject('guests');
/** COM1 transmit register and line status register. */
const COM1_THR = 0x3f8;
const COM1_LSR = 0x3fd;
/** LSR: transmitter empty (THRE | TEMT), so the guest's polled writes go straight out. */
const LSR_TX_EMPTY = 0x60;
const RAM_BYTES = 16 * 1024 * 1024;

describe('the PVH boot state through kvm_sregs/kvm_regs bytes', () => {
  it('enters the test guest on the emulated CPU from the decoded bytes', async () => {
    const ram = new GuestRam(0, RAM_BYTES);
    const kernel = await loadKernel(guests.pvh, ram);
    const { cpu } = setupPvhBoot(ram, { entry: kernel.entry, cmdline: 'action=spin', memoryBytes: RAM_BYTES });

    const sregBytes = new Uint8Array(KVM_SREGS_SIZE);
    encodeKvmSregs(sregBytes, cpu.sregs);
    const regBytes = new Uint8Array(KVM_REGS_SIZE);
    encodeKvmRegs(regBytes, cpu.regs);
    const sregs = decodeKvmSregs(sregBytes);
    const regs = decodeKvmRegs(regBytes);
    expect(sregs).toEqual(cpu.sregs);
    expect(regs.rip).toBe(BigInt(cpu.regs.rip));
    expect(regs.rbx).toBe(BigInt(cpu.regs.rbx));

    let out = '';
    const handleExit = (exit: VcpuExit): void => {
      if (exit.kind === 'io-out' && exit.port === COM1_THR) out += String.fromCharCode(exit.data & 0xff);
      else if (exit.kind === 'io-in') exit.data = exit.port === COM1_LSR ? LSR_TX_EMPTY : 0xff;
      else if (exit.kind === 'mmio-read') exit.data = 0xffff_ffff;
    };
    const accel = new EmulatedAccelerator({ handleExit });
    try {
      ram.attach(accel);
      accel.setBootState({ sregs, regs });
      for (let i = 0; i < 2000 && !out.includes('hv-guest: spinning'); i++) accel.runSlice();
    } finally {
      accel.close();
    }
    expect(out).toContain('hv-guest: ready');
    expect(out).toContain(`hv-guest: start_info=0x${cpu.regs.rbx.toString(16)} version=1`);
    expect(out).toContain('hv-guest: cmdline=action=spin');
    expect(out).toContain('hv-guest: spinning');
  });
});
