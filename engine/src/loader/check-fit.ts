import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { hex, LoaderError } from './loader-error';

/** 2^64: ELF64 addresses and sizes are unsigned 64-bit; a sum reaching this wrapped around. */
const U64_LIMIT = 1n << 64n;

/**
 * Checks that [gpa, gpa + length) lies in guest RAM at or above minAddress, in BigInt so no 64-bit value
 * from an image can overflow or lose precision. `what` names the piece of the image for the message.
 */
export function checkFit(what: string, gpa: bigint, length: bigint, memory: GuestMemoryWriter, minAddress: number): void {
  const end = gpa + length;
  if (end >= U64_LIMIT) {
    throw new LoaderError('fit', `${what}: address ${hex(gpa)} + size ${hex(length)} overflows 64 bits`);
  }
  if (gpa < BigInt(minAddress)) {
    throw new LoaderError('fit', `${what}: address ${hex(gpa)} is below the kernel load minimum ${hex(minAddress)}`);
  }
  if (end > BigInt(memory.size)) {
    throw new LoaderError(
      'fit',
      `${what}: ${hex(gpa)}..${hex(end)} runs past the end of guest RAM at ${hex(memory.size)}`,
    );
  }
}
