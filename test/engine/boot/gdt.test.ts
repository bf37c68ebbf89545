import { describe, expect, it } from 'vitest';
import { pvhEntryState, type Segment } from '../../../engine/src/boot/cpu-state';
import {
  BOOT_CODE32_SELECTOR,
  BOOT_CODE64_SELECTOR,
  BOOT_DATA_SELECTOR,
  BOOT_GDT_LIMIT,
  BOOT_TSS_SELECTOR,
  bootSegment,
  encodeBootGdt,
  encodeDescriptor,
  writeBootGdt,
} from '../../../engine/src/boot/gdt';
import { BOOT_GDT_START, BOOT_IDT_START } from '../../../engine/src/platform/layout';
import { ArrayGuestMemory } from '../loader/array-guest-memory';

/**
 * Decodes an 8-byte segment descriptor into kvm_segment-style fields, written from the Intel SDM's
 * descriptor format (vol. 3A 3.4.5) independently of the encoder.
 */
function decodeDescriptor(bytes: Uint8Array, selector: number): Segment {
  const low = bytes[0] | (bytes[1] << 8);
  const base = (bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (bytes[7] << 24)) >>> 0;
  const access = bytes[5];
  const flags = bytes[6];
  const rawLimit = low | ((flags & 0x0f) << 16);
  const g = ((flags >> 7) & 1) as 0 | 1;
  return {
    selector,
    base,
    limit: g ? rawLimit * 4096 + 4095 : rawLimit,
    type: access & 0x0f,
    s: ((access >> 4) & 1) as 0 | 1,
    dpl: (access >> 5) & 3,
    present: ((access >> 7) & 1) as 0 | 1,
    l: ((flags >> 5) & 1) as 0 | 1,
    db: ((flags >> 6) & 1) as 0 | 1,
    g,
  };
}

function descriptorAt(memory: ArrayGuestMemory, gdtBase: number, selector: number): Uint8Array {
  return memory.read(gdtBase + (selector & ~7), 8);
}

const asQword = (bytes: Uint8Array): bigint => new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);

describe('boot GDT', () => {
  it('holds the well-known flat descriptors', () => {
    const gdt = encodeBootGdt();
    expect(gdt).toHaveLength(BOOT_GDT_LIMIT + 1);
    const qwords = Array.from({ length: gdt.length / 8 }, (_, i) => asQword(gdt.subarray(i * 8)));
    expect(qwords).toEqual([
      0n,
      0x00af_9b00_0000_ffffn, // 64-bit code, execute/read, accessed
      0x00cf_9b00_0000_ffffn, // 32-bit flat code, execute/read, accessed
      0x00cf_9300_0000_ffffn, // 32-bit flat data, read/write, accessed
      0x0000_8b00_0000_0067n, // busy TSS, base 0, limit 0x67
      0n, // upper half of the TSS descriptor in long mode
    ]);
  });

  it('decodes, from guest memory, to exactly the segment state the PVH entry loads', () => {
    const memory = new ArrayGuestMemory(2 * 1024 * 1024);
    memory.bytes.fill(0xaa);
    writeBootGdt(memory);
    const { sregs } = pvhEntryState(0x100000, 0x6000);
    expect(sregs.gdt).toEqual({ base: BOOT_GDT_START, limit: BOOT_GDT_LIMIT });
    for (const name of ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr'] as const) {
      const segment = sregs[name];
      expect(segment.selector, name).toBeLessThanOrEqual(sregs.gdt.limit - 7);
      expect(decodeDescriptor(descriptorAt(memory, sregs.gdt.base, segment.selector), segment.selector), name).toEqual(segment);
    }
    expect(memory.read(sregs.idt.base, sregs.idt.limit + 1).every((byte) => byte === 0)).toBe(true);
    expect(sregs.idt.base).toBe(BOOT_IDT_START);
  });

  it('has a 64-bit code segment for the later Linux entry', () => {
    expect(decodeDescriptor(encodeBootGdt().subarray(BOOT_CODE64_SELECTOR, BOOT_CODE64_SELECTOR + 8), BOOT_CODE64_SELECTOR)).toEqual(
      bootSegment(BOOT_CODE64_SELECTOR),
    );
    expect(bootSegment(BOOT_CODE64_SELECTOR)).toMatchObject({ l: 1, db: 0, s: 1, present: 1, type: 0xb });
  });

  it('uses Linux boot selectors for the 32-bit segments and TSS', () => {
    expect([BOOT_CODE32_SELECTOR, BOOT_DATA_SELECTOR, BOOT_TSS_SELECTOR]).toEqual([0x10, 0x18, 0x20]);
  });

  it('refuses selectors with no descriptor and limits it cannot encode', () => {
    expect(() => bootSegment(0)).toThrow(RangeError);
    expect(() => bootSegment(0x28)).toThrow(RangeError);
    expect(() => bootSegment(0x11)).toThrow(RangeError);
    const flat = bootSegment(BOOT_DATA_SELECTOR);
    expect(() => encodeDescriptor({ ...flat, limit: 0x1000 })).toThrow(RangeError);
    expect(() => encodeDescriptor({ ...flat, g: 0, limit: 0x10_0000 })).toThrow(RangeError);
  });
});
