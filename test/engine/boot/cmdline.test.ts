import { describe, expect, it } from 'vitest';
import { BootSetupError } from '../../../engine/src/boot/boot-setup-error';
import { encodeCmdline, MAX_CMDLINE_BYTES, writeCmdline } from '../../../engine/src/boot/cmdline';
import { CMDLINE_START } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from '../loader/array-guest-memory';

function cmdlineError(cmdline: string): BootSetupError {
  try {
    encodeCmdline(cmdline);
  } catch (error) {
    expect(error).toBeInstanceOf(BootSetupError);
    return error as BootSetupError;
  }
  throw new Error('expected a BootSetupError');
}

describe('kernel cmdline', () => {
  it('is the UTF-8 bytes plus a NUL terminator', () => {
    expect(Array.from(encodeCmdline('a=1 é'))).toEqual([0x61, 0x3d, 0x31, 0x20, 0xc3, 0xa9, 0]);
    expect(Array.from(encodeCmdline(''))).toEqual([0]);
  });

  it('holds at most 4095 bytes plus the NUL', () => {
    expect(MAX_CMDLINE_BYTES).toBe(4096);
    expect(encodeCmdline('x'.repeat(4095))).toHaveLength(4096);
    const error = cmdlineError('x'.repeat(4096));
    expect(error.step).toBe('cmdline');
    expect(error.message).toBe('kernel cmdline is 4096 bytes; at most 4095 fit (4096 with the NUL terminator)');
  });

  it('counts bytes, not characters', () => {
    expect(cmdlineError('é'.repeat(2048)).message).toMatch(/^kernel cmdline is 4096 bytes/);
    expect(encodeCmdline(`${'é'.repeat(2047)}x`)).toHaveLength(4096);
  });

  it('rejects an embedded NUL', () => {
    expect(cmdlineError('a\0b')).toMatchObject({ step: 'cmdline', message: 'kernel cmdline contains a NUL byte' });
  });

  it('is written at CMDLINE_START', () => {
    const memory = new ArrayGuestMemory(2 * 1024 * 1024);
    memory.bytes.fill(0xaa);
    expect(writeCmdline(memory, 'action=echo')).toEqual({ gpa: CMDLINE_START, size: 12 });
    expect(Buffer.from(memory.read(CMDLINE_START, 13)).toString('latin1')).toBe('action=echo\0\xaa');
  });
});
