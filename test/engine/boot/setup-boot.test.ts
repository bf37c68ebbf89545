import { describe, expect, it } from 'vitest';
import { BootSetupError } from '../../../engine/src/boot/boot-setup-error';
import { setupPvhBoot, setupRawBoot } from '../../../engine/src/boot/setup-boot';
import { MiB } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from '../loader/array-guest-memory';

/** Follows the pointers a PVH guest follows: %ebx → start_info → cmdline and memory map. */
function guestView(memory: ArrayGuestMemory, ebx: number) {
  const view = new DataView(memory.bytes.buffer);
  const cmdlineAt = Number(view.getBigUint64(ebx + 24, true));
  const end = memory.bytes.indexOf(0, cmdlineAt);
  const memmapAt = Number(view.getBigUint64(ebx + 40, true));
  const entries = view.getUint32(ebx + 48, true);
  return {
    magic: view.getUint32(ebx, true),
    cmdline: Buffer.from(memory.bytes.subarray(cmdlineAt, end)).toString('utf8'),
    ram: Array.from({ length: entries }, (_, i) => memmapAt + i * 24)
      .filter((at) => view.getUint32(at + 16, true) === 1)
      .reduce((sum, at) => sum + Number(view.getBigUint64(at + 8, true)), 0),
  };
}

describe('setupPvhBoot', () => {
  it('writes GDT, cmdline, memory map and start_info, and enters with %ebx pointing at start_info', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    const setup = setupPvhBoot(memory, { entry: 0x100000, cmdline: 'action=exit:3', memoryBytes: 64 * MiB });
    expect(setup.cpu.regs).toMatchObject({ rip: 0x100000, rbx: 0x6000 });
    expect(setup.startInfo).toEqual({ startInfoGpa: 0x6000, memmapGpa: 0x7000, memmapEntries: 3 });
    expect(setup.cmdline).toEqual({ gpa: 0x20000, size: 14 });
    expect(guestView(memory, setup.cpu.regs.rbx)).toEqual({
      magic: 0x336ec578,
      cmdline: 'action=exit:3',
      ram: 64 * MiB - 0x60400,
    });
    expect(memory.read(setup.cpu.sregs.gdt.base + 0x10, 8)).toEqual(Uint8Array.of(0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0));
  });

  it('writes nothing when the cmdline is too long', () => {
    const memory = new ArrayGuestMemory(64 * MiB);
    expect(() => setupPvhBoot(memory, { entry: 0x100000, cmdline: 'x'.repeat(5000), memoryBytes: 64 * MiB })).toThrow(
      expect.objectContaining({ step: 'cmdline' }),
    );
    expect(memory.writes).toBe(0);
  });

  it('refuses guest memory that does not match the RAM size', () => {
    const memory = new ArrayGuestMemory(32 * MiB);
    expect(() => setupPvhBoot(memory, { entry: 0x100000, cmdline: '', memoryBytes: 64 * MiB })).toThrow(BootSetupError);
    expect(() => setupPvhBoot(memory, { entry: 0x100000, cmdline: '', memoryBytes: 64 * MiB })).toThrow(
      /guest memory holds 33554432 bytes from address 0, but 67108864 bytes of RAM put 67108864 there/,
    );
    expect(memory.writes).toBe(0);
  });
});

describe('setupRawBoot', () => {
  it('writes only the GDT and IDT and enters with %ebx = 0', () => {
    const memory = new ArrayGuestMemory(4 * MiB);
    const cpu = setupRawBoot(memory, { entry: 0x100000, memoryBytes: 4 * MiB });
    expect(cpu.regs).toMatchObject({ rip: 0x100000, rbx: 0 });
    expect(memory.writes).toBe(2);
    expect(memory.read(0x6000, 4).every((byte) => byte === 0)).toBe(true);
  });
});
