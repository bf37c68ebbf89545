/**
 * KvmAccelerator. Here (no /dev/kvm) it must fail to construct with the reason, leaking nothing; where /dev/kvm
 * opens, a tiny guest entered exactly as the PVH boot state says runs under KVM_RUN and every exit kind reaches
 * the exit handler, reads answered, a stop requested from inside the handler honoured, and a guest spinning
 * without exits still gives the thread back at the end of its slice.
 */
import { describe, expect, it } from 'vitest';
import type { VcpuExit } from '../../../../engine/src/accel/exit';
import { KvmAccelerator } from '../../../../engine/src/accel/kvm/kvm-accelerator';
import { pvhEntryState } from '../../../../engine/src/boot/cpu-state';
import { writeBootGdt } from '../../../../engine/src/boot/gdt';
import { GuestRam } from '../../../../engine/src/memory/guest-ram';
import { kvmUnavailableReason } from './kvm-available';

const skipReason = kvmUnavailableReason();
if (skipReason) console.log(`KVM guest tests skipped: ${skipReason}`);

/** Where the guest code goes (1 MiB, as a kernel would). */
const CODE = 0x10_0000;
/** An MMIO address in the PCI hole. */
const MMIO = 0xc000_0000;

/** 32-bit code: two bytes to COM1, read it back, store to and load from MMIO, report on 0xf4, then spin. */
const GUEST = [
  0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
  0xb0, 0x68, 0xee, // mov al, 'h'; out dx, al
  0xb0, 0x76, 0xee, // mov al, 'v'; out dx, al
  0xec, // in al, dx
  0xa2, 0x00, 0x00, 0x00, 0xc0, // mov [0xc0000000], al
  0xa1, 0x04, 0x00, 0x00, 0xc0, // mov eax, [0xc0000004]
  0xe6, 0xf4, // out 0xf4, al
  0xeb, 0xfe, // jmp $
];

describe('KvmAccelerator without KVM', () => {
  it.skipIf(skipReason === undefined)('fails with the device and errno when /dev/kvm cannot be used', () => {
    expect(() => new KvmAccelerator({ handleExit: () => {} })).toThrow(expect.objectContaining({ message: expect.stringContaining('/dev/kvm') }));
    expect(() => new KvmAccelerator({ handleExit: () => {}, devicePath: '/dev/null' })).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
  });

  it('validates its options before opening anything', () => {
    expect(() => new KvmAccelerator({ handleExit: 1 as never })).toThrow(TypeError);
    expect(() => new KvmAccelerator({ handleExit: () => {}, sliceMicros: 0 })).toThrow(RangeError);
  });
});

describe.skipIf(skipReason !== undefined)('KvmAccelerator on /dev/kvm', () => {
  it('runs a PVH-entered guest: port and MMIO exits, answered reads, a stop from the handler, sliced spinning', () => {
    const seen: string[] = [];
    let accel: KvmAccelerator | undefined;
    const handleExit = (exit: VcpuExit): void => {
      switch (exit.kind) {
        case 'io-out':
          seen.push(`out ${exit.port.toString(16)} ${exit.data.toString(16)}`);
          if (exit.port === 0xf4) accel?.requestStop();
          return;
        case 'io-in':
          seen.push(`in ${exit.port.toString(16)}`);
          exit.data = 0x5a;
          return;
        case 'mmio-write':
          seen.push(`write ${exit.address.toString(16)}/${exit.size} ${exit.data.toString(16)}`);
          return;
        case 'mmio-read':
          seen.push(`read ${exit.address.toString(16)}/${exit.size}`);
          exit.data = 0x33;
          return;
        default:
          seen.push(exit.kind);
      }
    };
    accel = new KvmAccelerator({ handleExit, sliceMicros: 2000 });
    try {
      const ram = new GuestRam(0, 2 * 1024 * 1024);
      ram.attach(accel);
      accel.mapMmio(MMIO, 0x1000);
      writeBootGdt(ram);
      ram.write(CODE, Uint8Array.from(GUEST));
      accel.setBootState(pvhEntryState(CODE, 0x6000));
      expect(accel.getRegs().rbx).toBe(0x6000n);

      let outcome = accel.runSlice();
      for (let i = 0; i < 100 && outcome === 'slice-end'; i++) outcome = accel.runSlice();
      expect(outcome).toBe('stop-requested');
      expect(seen).toEqual(['out 3f8 68', 'out 3f8 76', 'in 3f8', `write ${MMIO.toString(16)}/1 5a`, `read ${(MMIO + 4).toString(16)}/4`, 'out f4 33']);

      const started = performance.now();
      expect(accel.runSlice()).toBe('slice-end');
      const took = performance.now() - started;
      console.log(`a 2 ms slice of a spinning guest returned after ${took.toFixed(2)} ms`);
      expect(accel.getRegs().rip).toBe(BigInt(CODE + GUEST.length - 2));
    } finally {
      accel.close();
      accel.close();
    }
  });
});
