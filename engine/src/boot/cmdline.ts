/** The kernel command line: UTF-8 bytes plus a NUL terminator at CMDLINE_START, shared by PVH and Linux boot. */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { CMDLINE_MAX_SIZE, CMDLINE_START } from '../platform/layout';
import { BootSetupError } from './boot-setup-error';

/** Longest command line in bytes, including its NUL terminator. */
export const MAX_CMDLINE_BYTES = CMDLINE_MAX_SIZE;

/** The command line as written to guest memory: its bytes and a NUL. Throws BootSetupError('cmdline'). */
export function encodeCmdline(cmdline: string): Uint8Array {
  const text = Buffer.from(cmdline, 'utf8');
  if (text.includes(0)) throw new BootSetupError('cmdline', 'kernel cmdline contains a NUL byte');
  if (text.length + 1 > MAX_CMDLINE_BYTES) {
    throw new BootSetupError(
      'cmdline',
      `kernel cmdline is ${text.length} bytes; at most ${MAX_CMDLINE_BYTES - 1} fit (${MAX_CMDLINE_BYTES} with the NUL terminator)`,
    );
  }
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

/** Writes the command line at gpa (default CMDLINE_START); returns its address and size with the NUL. */
export function writeCmdline(
  memory: GuestMemoryWriter,
  cmdline: string,
  gpa: number = CMDLINE_START,
): { gpa: number; size: number } {
  const bytes = encodeCmdline(cmdline);
  if (gpa + MAX_CMDLINE_BYTES > memory.size) {
    throw new BootSetupError('memory', `guest RAM (${memory.size} bytes) ends before the cmdline area at 0x${gpa.toString(16)}`);
  }
  memory.write(gpa, bytes);
  return { gpa, size: bytes.length };
}
