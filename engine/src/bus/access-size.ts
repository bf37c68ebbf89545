/** Access widths a device can see; 8-byte accesses never reach a device (the bus splits them). */
export type AccessSize = 1 | 2 | 4;

/** The width of an 8-byte MMIO access, which the bus splits into two 4-byte halves. */
export const SPLIT_ACCESS_SIZE = 8;

/** 2^32, to combine or split the halves of an 8-byte access without 32-bit overflow. */
export const TWO_POW_32 = 0x1_0000_0000;

/** All-ones of each width: what an unclaimed read returns, as a floating bus does on real hardware. */
const ALL_ONES: readonly number[] = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

/** Whether `size` is a width a device accepts (1, 2 or 4 bytes). */
export function isAccessSize(size: number): size is AccessSize {
  return size === 1 || size === 2 || size === 4;
}

/** The all-ones value of a 1-, 2- or 4-byte access; also the mask that truncates a value to that width. */
export function allOnes(size: AccessSize): number {
  return ALL_ONES[size] as number;
}
