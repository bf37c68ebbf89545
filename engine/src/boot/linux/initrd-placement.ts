/**
 * Where the initrd goes (boot.rst: "as high in memory as possible", at most initrd_addr_max, and not where the
 * kernel decompresses): the highest INITRD_ALIGNMENT-aligned address at which it ends at or below
 * min(initrd_addr_max + 1, end of low RAM) and starts at or above the kernel's load address + init_size.
 */
import { INITRD_ALIGNMENT } from '../../platform/layout';
import { BootSetupError } from '../boot-setup-error';

export interface InitrdLimits {
  /** The kernel's load address + init_size (page-aligned up before use). */
  initEnd: number;
  /** The setup header's initrd_addr_max: the highest address the initrd may occupy (inclusive). */
  initrdAddrMax: number;
  /** One past the last byte of low RAM (below the PCI hole). */
  lowRamEnd: number;
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** The initrd's guest physical address for an initrd of size bytes. Throws BootSetupError('initrd'). */
export function placeInitrd(size: number, limits: InitrdLimits): number {
  if (!Number.isSafeInteger(size) || size <= 0) throw new BootSetupError('initrd', `initrd size ${size}: the initrd is empty`);
  const top = Math.min(limits.initrdAddrMax + 1, limits.lowRamEnd);
  const bottom = Math.ceil(limits.initEnd / INITRD_ALIGNMENT) * INITRD_ALIGNMENT;
  const gpa = Math.floor((top - size) / INITRD_ALIGNMENT) * INITRD_ALIGNMENT;
  if (size > top || gpa < bottom) {
    throw new BootSetupError(
      'initrd',
      `the ${size}-byte initrd does not fit between the kernel's init_size end ${hex(bottom)} and ${hex(top)} (min of initrd_addr_max + 1 and the end of low RAM)`,
    );
  }
  return gpa;
}
