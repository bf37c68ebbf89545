/**
 * The boot GDT: the descriptors behind every segment of the boot CPU state, encoded into guest memory by
 * writeBootGdt() so that what the CPU has cached and what the GDT says are the same.
 *
 *   0x00 null
 *   0x08 64-bit code, execute/read           (the later 64-bit Linux entry; slot unused by Linux's boot GDT)
 *   0x10 32-bit flat code, execute/read      (Linux __BOOT_CS; the PVH and raw entries' CS)
 *   0x18 32-bit flat data, read/write        (Linux __BOOT_DS; DS, ES, FS, GS, SS)
 *   0x20 TSS, busy, base 0, limit 0x67       (Linux __BOOT_TSS; TR)
 *   0x28 zero: the upper half of the TSS descriptor once the CPU is in long mode (16-byte system descriptors)
 *
 * Descriptor encoding (8 bytes): limit[15:0], base[15:0], base[23:16], access (type | S << 4 | DPL << 5 |
 * P << 7), flags (limit[19:16] | AVL << 4 | L << 5 | D/B << 6 | G << 7), base[31:24].
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { BOOT_GDT_MAX_SIZE, BOOT_GDT_START, BOOT_IDT_START } from '../platform/layout';
import type { Segment } from './cpu-state';

/** 64-bit code segment selector. */
export const BOOT_CODE64_SELECTOR = 0x08;
/** 32-bit flat code segment selector. */
export const BOOT_CODE32_SELECTOR = 0x10;
/** 32-bit flat data segment selector. */
export const BOOT_DATA_SELECTOR = 0x18;
/** Task state segment selector. */
export const BOOT_TSS_SELECTOR = 0x20;

/** Code segment type: execute/read, accessed. */
export const SEGMENT_TYPE_CODE_EXEC_READ = 0xb;
/** Data segment type: read/write, accessed. */
export const SEGMENT_TYPE_DATA_READ_WRITE = 0x3;
/** System segment type: busy 32-bit (or, in long mode, 64-bit) TSS, as TR must hold. */
export const SEGMENT_TYPE_TSS_BUSY = 0xb;
/** Byte limit of a flat 4 GiB segment. */
export const FLAT_LIMIT = 0xffff_ffff;
/** Byte limit of a 104-byte TSS. */
export const TSS_LIMIT = 0x67;
/** Size of one GDT descriptor. */
export const DESCRIPTOR_SIZE = 8;
/** Largest limit a descriptor's 20-bit field holds. */
const MAX_RAW_LIMIT = 0xf_ffff;
/** Size of the zeroed boot IDT: one long-mode gate (or two 32-bit ones). */
export const BOOT_IDT_SIZE = 16;
/** IDTR limit of the boot IDT. */
export const BOOT_IDT_LIMIT = BOOT_IDT_SIZE - 1;

/** A descriptor: a Segment without its selector. */
export type Descriptor = Omit<Segment, 'selector'>;

const FLAT = { base: 0, limit: FLAT_LIMIT, present: 1, dpl: 0, s: 1, g: 1 } as const;

/** Boot GDT entries by index (selector >> 3); null is an all-zero descriptor. */
export const BOOT_GDT: readonly (Descriptor | null)[] = [
  null,
  { ...FLAT, type: SEGMENT_TYPE_CODE_EXEC_READ, db: 0, l: 1 },
  { ...FLAT, type: SEGMENT_TYPE_CODE_EXEC_READ, db: 1, l: 0 },
  { ...FLAT, type: SEGMENT_TYPE_DATA_READ_WRITE, db: 1, l: 0 },
  { base: 0, limit: TSS_LIMIT, type: SEGMENT_TYPE_TSS_BUSY, present: 1, dpl: 0, db: 0, s: 0, l: 0, g: 0 },
  null,
];

/** GDTR limit of the boot GDT. */
export const BOOT_GDT_LIMIT = BOOT_GDT.length * DESCRIPTOR_SIZE - 1;

/** The segment state the CPU caches when selector is loaded from the boot GDT. */
export function bootSegment(selector: number): Segment {
  const descriptor = BOOT_GDT[selector >> 3];
  if ((selector & 7) !== 0 || descriptor === null || descriptor === undefined) {
    throw new RangeError(`selector 0x${selector.toString(16)} names no boot GDT segment`);
  }
  return { selector, ...descriptor };
}

/** The 8 bytes of a segment descriptor. */
export function encodeDescriptor(descriptor: Descriptor): Uint8Array {
  const { base, limit, g } = descriptor;
  if (!Number.isInteger(base) || base < 0 || base > 0xffff_ffff) throw new RangeError(`segment base ${base} is not 32-bit`);
  const rawLimit = g ? Math.floor(limit / 4096) : limit;
  if (!Number.isInteger(limit) || limit < 0 || rawLimit > MAX_RAW_LIMIT || (g && limit % 4096 !== 4095)) {
    throw new RangeError(`segment limit 0x${limit.toString(16)} cannot be encoded with g=${g}`);
  }
  const bytes = new Uint8Array(DESCRIPTOR_SIZE);
  bytes[0] = rawLimit & 0xff;
  bytes[1] = (rawLimit >>> 8) & 0xff;
  bytes[2] = base & 0xff;
  bytes[3] = (base >>> 8) & 0xff;
  bytes[4] = (base >>> 16) & 0xff;
  bytes[5] = (descriptor.type & 0xf) | (descriptor.s << 4) | ((descriptor.dpl & 3) << 5) | (descriptor.present << 7);
  bytes[6] = ((rawLimit >>> 16) & 0xf) | (descriptor.l << 5) | (descriptor.db << 6) | (g << 7);
  bytes[7] = (base >>> 24) & 0xff;
  return bytes;
}

/** The whole boot GDT. */
export function encodeBootGdt(): Uint8Array {
  const bytes = new Uint8Array(BOOT_GDT.length * DESCRIPTOR_SIZE);
  BOOT_GDT.forEach((descriptor, index) => {
    if (descriptor !== null) bytes.set(encodeDescriptor(descriptor), index * DESCRIPTOR_SIZE);
  });
  return bytes;
}

/** Writes the boot GDT at BOOT_GDT_START and the zeroed boot IDT at BOOT_IDT_START. */
export function writeBootGdt(memory: GuestMemoryWriter): void {
  const gdt = encodeBootGdt();
  if (gdt.length > BOOT_GDT_MAX_SIZE) throw new RangeError(`boot GDT (${gdt.length} bytes) outgrew its ${BOOT_GDT_MAX_SIZE}-byte room`);
  memory.write(BOOT_GDT_START, gdt);
  memory.fill(BOOT_IDT_START, BOOT_IDT_SIZE, 0);
}
