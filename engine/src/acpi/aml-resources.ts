/**
 * ACPI resource descriptors (ACPI 6.x, section 6.4) for _CRS buffers: the few kinds hv's DSDT declares.
 * A ResourceTemplate is the descriptors back to back, closed by an End Tag, wrapped in an AML Buffer.
 * Small descriptors have a one-byte header (type in bits 3-6, length in bits 0-2); large ones a type byte
 * with bit 7 set and a 16-bit length of what follows.
 */
import { amlBuffer, concatBytes } from './aml';

/** Small resource: I/O port descriptor, 7 bytes of body. */
const IO_PORT_HEADER = 0x47;
/** I/O port information: the device decodes 16 address bits. */
const IO_DECODE16 = 0x01;
/** Small resource: IRQ descriptor without the flags byte (edge, active high, exclusive: ISA's default). */
const IRQ_NO_FLAGS_HEADER = 0x22;
/** Small resource: End Tag, followed by a checksum byte (0 = "treat as valid"). */
const END_TAG_HEADER = 0x79;
/** Large resource: 32-bit fixed memory range descriptor. */
const MEMORY32_FIXED = 0x86;
/** Length of a Memory32Fixed descriptor after its 3-byte header. */
const MEMORY32_FIXED_LENGTH = 9;
/** Memory32Fixed information: read/write. */
const MEMORY32_READ_WRITE = 0x01;
/** Large resource: Word Address Space descriptor. */
const WORD_ADDRESS_SPACE = 0x88;
/** Length of a Word Address Space descriptor after its 3-byte header. */
const WORD_ADDRESS_SPACE_LENGTH = 13;
/** Large resource: DWord Address Space descriptor. */
const DWORD_ADDRESS_SPACE = 0x87;
/** Length of a DWord Address Space descriptor after its 3-byte header. */
const DWORD_ADDRESS_SPACE_LENGTH = 23;

/** Address space resource type: memory range. */
export const RESOURCE_TYPE_MEMORY = 0;
/** Address space resource type: I/O range. */
export const RESOURCE_TYPE_IO = 1;
/** Address space resource type: bus number range. */
export const RESOURCE_TYPE_BUS = 2;
/** General flags: minimum and maximum addresses are fixed (_MIF, _MAF); producer, positive decode. */
const GENERAL_FLAGS_FIXED_PRODUCER = 0x0c;
/** I/O type-specific flags: _RNG = 3, both ISA and non-ISA ranges ("EntireRange"). */
const IO_FLAGS_ENTIRE_RANGE = 0x03;
/** Memory type-specific flags: _RW read/write, _MEM 0 non-cacheable (device MMIO). */
const MEMORY_FLAGS_RW_NON_CACHEABLE = 0x01;

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

function checkRange(what: string, min: number, length: number, limit: number): void {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(length) || min < 0 || length <= 0 || min + length > limit) {
    throw new RangeError(`${what} [${min}, +${length}) does not fit ${limit.toString(16)}`);
  }
}

/** IO(Decode16, base, base, 1, length): a fixed range of I/O ports. */
export function ioPort(base: number, length: number): Uint8Array {
  checkRange('I/O port range', base, length, 0x1_0000);
  if (length > 0xff) throw new RangeError(`I/O port descriptor length ${length} exceeds 255`);
  return Uint8Array.from([IO_PORT_HEADER, IO_DECODE16, ...le(base, 2), ...le(base, 2), 1, length]);
}

/** IRQNoFlags() { irq }: one ISA interrupt, edge-triggered active high. */
export function irqNoFlags(irq: number): Uint8Array {
  if (!Number.isInteger(irq) || irq < 0 || irq > 15) throw new RangeError(`ISA IRQ ${irq} is outside 0..15`);
  return Uint8Array.from([IRQ_NO_FLAGS_HEADER, ...le(1 << irq, 2)]);
}

/** WordBusNumber / WordIO producer with fixed bounds: [min, min + length). */
export function wordAddressSpace(resourceType: typeof RESOURCE_TYPE_BUS | typeof RESOURCE_TYPE_IO, min: number, length: number): Uint8Array {
  checkRange('word address range', min, length, 0x1_0000);
  const typeFlags = resourceType === RESOURCE_TYPE_IO ? IO_FLAGS_ENTIRE_RANGE : 0;
  return Uint8Array.from([
    WORD_ADDRESS_SPACE, ...le(WORD_ADDRESS_SPACE_LENGTH, 2), resourceType, GENERAL_FLAGS_FIXED_PRODUCER, typeFlags,
    ...le(0, 2), ...le(min, 2), ...le(min + length - 1, 2), ...le(0, 2), ...le(length, 2),
  ]);
}

/** DWordMemory producer with fixed bounds, non-cacheable read/write: [min, min + length). */
export function dwordMemory(min: number, length: number): Uint8Array {
  checkRange('dword memory range', min, length, 0x1_0000_0000);
  return Uint8Array.from([
    DWORD_ADDRESS_SPACE, ...le(DWORD_ADDRESS_SPACE_LENGTH, 2), RESOURCE_TYPE_MEMORY, GENERAL_FLAGS_FIXED_PRODUCER,
    MEMORY_FLAGS_RW_NON_CACHEABLE, ...le(0, 4), ...le(min, 4), ...le(min + length - 1, 4), ...le(0, 4), ...le(length, 4),
  ]);
}

/** Memory32Fixed(ReadWrite, base, length): a fixed range of memory-mapped registers. */
export function memory32Fixed(base: number, length: number): Uint8Array {
  checkRange('fixed memory range', base, length, 0x1_0000_0000);
  return Uint8Array.from([MEMORY32_FIXED, ...le(MEMORY32_FIXED_LENGTH, 2), MEMORY32_READ_WRITE, ...le(base, 4), ...le(length, 4)]);
}

/** ResourceTemplate() { descriptors }: a Buffer ending in an End Tag. */
export function resourceTemplate(descriptors: readonly Uint8Array[]): Uint8Array {
  return amlBuffer(concatBytes([...descriptors, [END_TAG_HEADER, 0]]));
}
