/**
 * The addon's small surface: constants shared with TypeScript, host CPUID, the Kvm fd class, and the raw
 * EmulatedCpu run() codes for the cases Unicorn 2.0.1 handles its own way (pinned here).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as exit from '../../../engine/src/accel/exit';
import { cpuid, createGuestMemory, native } from '../../../engine/src/native';

const CODE = 0x1000;
const RIP_INDEX = 16;
const SLICE_MICROS = 1000;

/** Runs raw bytes at CODE on a fresh CPU in its power-on state (Unicorn's flat 64-bit mode, paging off). */
function runBytes(bytes: number[], onExit: () => void = () => undefined): { code: number; mailbox: Uint32Array; rip: bigint } {
  const mailbox = new Uint32Array(exit.MAILBOX_WORDS);
  const cpu = new native.EmulatedCpu(mailbox, onExit);
  const memory = createGuestMemory(0x1_0000);
  new Uint8Array(memory.buffer).set(bytes, CODE);
  cpu.mapRam(0, memory);
  const regs = new BigUint64Array(18);
  cpu.getRegs(regs);
  regs[RIP_INDEX] = BigInt(CODE);
  cpu.setRegs(regs);
  const code = cpu.run(SLICE_MICROS);
  cpu.getRegs(regs);
  cpu.close();
  return { code, mailbox, rip: regs[RIP_INDEX] };
}

describe('native constants', () => {
  it('match the TypeScript declarations in exit.ts', () => {
    const c = native.emulatedConstants;
    expect([c.kMailboxWords, c.kMailboxKind, c.kMailboxSize, c.kMailboxAddressLow, c.kMailboxAddressHigh]).toEqual([
      exit.MAILBOX_WORDS, exit.MAILBOX_KIND, exit.MAILBOX_SIZE, exit.MAILBOX_ADDRESS_LOW, exit.MAILBOX_ADDRESS_HIGH,
    ]);
    expect([c.kMailboxDataLow, c.kMailboxDataHigh, c.kMailboxDetail]).toEqual([
      exit.MAILBOX_DATA_LOW, exit.MAILBOX_DATA_HIGH, exit.MAILBOX_DETAIL,
    ]);
    expect([c.kExitIoIn, c.kExitIoOut, c.kExitMmioRead, c.kExitMmioWrite]).toEqual([
      exit.EXIT_IO_IN, exit.EXIT_IO_OUT, exit.EXIT_MMIO_READ, exit.EXIT_MMIO_WRITE,
    ]);
    expect([c.kRunSliceEnd, c.kRunStopRequested, c.kRunHlt, c.kRunException, c.kRunInvalidInsn, c.kRunUnmapped, c.kRunError]).toEqual([
      exit.RUN_SLICE_END, exit.RUN_STOP_REQUESTED, exit.RUN_HLT, exit.RUN_EXCEPTION, exit.RUN_INVALID_INSN, exit.RUN_UNMAPPED, exit.RUN_ERROR,
    ]);
    expect([c.kAccessRead, c.kAccessWrite, c.kAccessFetch]).toEqual([exit.ACCESS_READ, exit.ACCESS_WRITE, exit.ACCESS_FETCH]);
  });

  it('take KVM numbers from linux/kvm.h', () => {
    const k = native.kvmConstants;
    expect(k.KVM_API_VERSION).toBe(12);
    expect(k.KVM_CAP_IRQCHIP).toBe(0);
    expect(k.KVM_CAP_NR_VCPUS).toBe(9);
    expect(k.KVM_CAP_MAX_VCPUS).toBe(66);
    expect(k.KVM_CAP_IMMEDIATE_EXIT).toBe(136);
  });

  it('links Unicorn 2.0', () => {
    expect(native.unicornVersion).toBe('2.0');
  });
});

describe('cpuid', () => {
  it('returns the host vendor string and feature words', () => {
    const [maxLeaf, ebx, ecx, edx] = cpuid(0, 0);
    expect(maxLeaf).toBeGreaterThan(0);
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(ebx, 0);
    vendor.writeUInt32LE(edx, 4);
    vendor.writeUInt32LE(ecx, 8);
    expect(vendor.toString('latin1')).toMatch(/^[\x20-\x7e]{12}$/);
    for (const word of cpuid(1, 0)) expect(word).toBeGreaterThanOrEqual(0);
  });

  it('validates leaf and subleaf', () => {
    expect(() => cpuid(-1, 0)).toThrow(RangeError);
    expect(() => cpuid(0, 2 ** 32)).toThrow(RangeError);
  });
});

describe('Kvm', () => {
  it('throws with the errno code when /dev/kvm cannot be opened', () => {
    if (existsSync('/dev/kvm')) {
      console.log('skipped: /dev/kvm exists on this machine');
      return;
    }
    expect(() => new native.Kvm()).toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining('/dev/kvm') }));
  });

  it('reports ioctl failures with errno on a device that is not KVM, and closes twice safely', () => {
    const kvm = new native.Kvm('/dev/null');
    expect(() => kvm.apiVersion()).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
    kvm.close();
    kvm.close();
    expect(() => kvm.checkExtension(0)).toThrow(/closed/);
  });
});

describe('EmulatedCpu run codes (Unicorn 2.0.1 behaviour)', () => {
  it('reports HLT by a clean return, RIP after the HLT', () => {
    expect(runBytes([0xfa, 0xf4])).toMatchObject({ code: exit.RUN_HLT, rip: BigInt(CODE + 2) }); // cli; hlt
  });

  it('stops on ud2 with INVALID_INSN (no #UD through UC_HOOK_INTR), RIP at the instruction', () => {
    expect(runBytes([0x0f, 0x0b])).toMatchObject({ code: exit.RUN_INVALID_INSN, rip: BigInt(CODE) });
  });

  it('reports traps after and faults at the instruction', () => {
    const int3 = runBytes([0xcc]);
    expect([int3.code, int3.mailbox[exit.MAILBOX_DETAIL], int3.rip]).toEqual([exit.RUN_EXCEPTION, 3, BigInt(CODE + 1)]);
    const divide = runBytes([0x31, 0xc9, 0xf7, 0xf1]); // xor %ecx, %ecx; div %ecx
    expect([divide.code, divide.mailbox[exit.MAILBOX_DETAIL], divide.rip]).toEqual([exit.RUN_EXCEPTION, 0, BigInt(CODE + 2)]);
    const softInt = runBytes([0xcd, 0x80]);
    expect([softInt.code, softInt.mailbox[exit.MAILBOX_DETAIL]]).toEqual([exit.RUN_EXCEPTION, 0x80]);
  });

  it('reports a fetch from unmapped memory with its address', () => {
    const { code, mailbox } = runBytes([0xe9, 0xfb, 0xff, 0xff, 0x0f]); // jmp CODE + 0x10000000
    expect(code).toBe(exit.RUN_UNMAPPED);
    expect(mailbox[exit.MAILBOX_ADDRESS_LOW] + mailbox[exit.MAILBOX_ADDRESS_HIGH] * 2 ** 32).toBe(CODE + 0x1000_0000);
    expect(mailbox[exit.MAILBOX_DETAIL]).toBe(exit.ACCESS_FETCH);
  });

  it('rethrows whatever onExit throws, non-Error values included', () => {
    let thrown: unknown;
    try {
      runBytes([0xe6, 0x80, 0xf4], () => {
        throw 42; // eslint-disable-line no-throw-literal
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(42);
  });

  it('refuses a wrong mailbox and a missing callback', () => {
    expect(() => new native.EmulatedCpu(new Uint32Array(4), () => undefined)).toThrow(TypeError);
    expect(() => new native.EmulatedCpu(new Int32Array(8) as unknown as Uint32Array, () => undefined)).toThrow(TypeError);
    expect(() => new native.EmulatedCpu(new Uint32Array(8), undefined as unknown as () => void)).toThrow(TypeError);
  });
});
