/**
 * The emulated accelerator against real guest code: snippets assembled with GNU as at test time, run in
 * 32-bit protected mode (flat GDT written into guest memory here) or 64-bit long mode (identity page tables).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  EmulatedAccelerator,
  VECTOR_BREAKPOINT,
  VECTOR_DIVIDE_ERROR,
  VECTOR_INVALID_OPCODE,
  type SegmentState,
  type SpecialRegs,
  type VcpuExit,
} from '../../../engine/src/accel';
import { createGuestMemory, type GuestMemory } from '../../../engine/src/native';

const RAM_SIZE = 0x10_0000; // 1 MiB of RAM at guest-physical 0
const MMIO_BASE = 0x10_0000; // MMIO page right above RAM (inside the first 2 MiB identity page)
const MMIO_SIZE = 0x1000;
const GDT_BASE = 0x1000;
const PML4_BASE = 0x2000;
const PDPT_BASE = 0x3000;
const PD_BASE = 0x4000;
const STACK_TOP = 0x9000;
const CODE_BASE = 0x1_0000;
const CODE32_SELECTOR = 0x08;
const DATA_SELECTOR = 0x10;
const CODE64_SELECTOR = 0x18;
const FLAT_CODE32 = 0x00cf_9a00_0000_ffffn; // base 0, limit 4 GiB, execute/read, 32-bit
const FLAT_DATA = 0x00cf_9200_0000_ffffn; // base 0, limit 4 GiB, read/write
const CODE64 = 0x00af_9a00_0000_ffffn; // long-mode code (L=1, D=0)
const PTE_PRESENT_WRITABLE = 0x3n;
const PDE_LARGE_PAGE = 0x80n;
const CR0_PE = 1 << 0;
const CR0_ET = 1 << 4;
const CR0_PG = 2 ** 31;
const CR4_PAE = 1 << 5;
const EFER_LME = 1 << 8;
const RFLAGS_RESERVED = 2n;
const SLICE_MICROS = 100_000; // long enough that test programs finish in one slice even on a loaded machine
const SHORT_SLICE_MICROS = 1000; // the engine's real slice, for the spin test
const TYPE_CODE_READ_ACCESSED = 0xb;
const TYPE_DATA_WRITE_ACCESSED = 0x3;

const asmDir = mkdtempSync(join(tmpdir(), 'hv-accel-asm-'));
let asmCount = 0;
afterAll(() => rmSync(asmDir, { recursive: true, force: true }));

/** Assembles AT&T source into a flat binary linked at `base`. */
function assemble(source: string, bits: 16 | 32 | 64, base = CODE_BASE): Uint8Array {
  const name = join(asmDir, `s${asmCount++}`);
  writeFileSync(`${name}.s`, `.code${bits}\n.globl _start\n_start:\n${source}\n`);
  execFileSync('as', [bits === 64 ? '--64' : '--32', '-o', `${name}.o`, `${name}.s`]);
  const emulation = bits === 64 ? 'elf_x86_64' : 'elf_i386';
  execFileSync('ld', ['-m', emulation, `-Ttext=${base.toString(16)}`, '--oformat=binary', '-o', `${name}.bin`, `${name}.o`]);
  return new Uint8Array(readFileSync(`${name}.bin`));
}

function segment(selector: number, code: boolean, long = false): SegmentState {
  return {
    selector,
    base: 0,
    limit: 0xffff_ffff,
    type: code ? TYPE_CODE_READ_ACCESSED : TYPE_DATA_WRITE_ACCESSED,
    present: 1,
    dpl: 0,
    db: long ? 0 : 1,
    s: 1,
    l: long ? 1 : 0,
    g: 1,
  };
}

function writeGdt(memory: GuestMemory): void {
  const gdt = new BigUint64Array(memory.buffer, GDT_BASE, 4);
  gdt.set([0n, FLAT_CODE32, FLAT_DATA, CODE64]);
}

function flat32(): SpecialRegs {
  const data = segment(DATA_SELECTOR, false);
  return {
    cs: segment(CODE32_SELECTOR, true),
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    gdt: { base: GDT_BASE, limit: 4 * 8 - 1 },
    idt: { base: 0, limit: 0 },
    cr0: CR0_PE | CR0_ET,
    cr3: 0,
    cr4: 0,
    efer: 0,
  };
}

/** Identity-maps the first 1 GiB with 2 MiB pages. */
function writePageTables(memory: GuestMemory): void {
  const view = new BigUint64Array(memory.buffer);
  view[PML4_BASE / 8] = BigInt(PDPT_BASE) | PTE_PRESENT_WRITABLE;
  view[PDPT_BASE / 8] = BigInt(PD_BASE) | PTE_PRESENT_WRITABLE;
  for (let i = 0; i < 512; i++) view[PD_BASE / 8 + i] = (BigInt(i) << 21n) | PTE_PRESENT_WRITABLE | PDE_LARGE_PAGE;
}

function longMode(): SpecialRegs {
  const data = segment(DATA_SELECTOR, false);
  return {
    ...flat32(),
    cs: segment(CODE64_SELECTOR, true, true),
    ds: data,
    cr0: (CR0_PE | CR0_ET) + CR0_PG, // + not |: bit 31 would make a bitwise result negative
    cr3: PML4_BASE,
    cr4: CR4_PAE,
    efer: EFER_LME,
  };
}

interface Harness {
  accelerator: EmulatedAccelerator;
  memory: GuestMemory;
  exits: string[];
}

const open: EmulatedAccelerator[] = [];
afterEach(() => {
  for (const a of open.splice(0)) a.close();
});

/** A CPU with RAM, an MMIO page, the GDT, the code at CODE_BASE and RIP there. */
function boot(code: Uint8Array, handleExit: (exit: VcpuExit) => void, mode: 32 | 64 = 32, sliceMicros = SLICE_MICROS): Harness {
  const exits: string[] = [];
  const accelerator = new EmulatedAccelerator({
    sliceMicros,
    handleExit: (exit) => {
      exits.push(exit.kind);
      handleExit(exit);
    },
  });
  open.push(accelerator);
  const memory = createGuestMemory(RAM_SIZE);
  accelerator.mapRam(0, memory);
  accelerator.mapMmio(MMIO_BASE, MMIO_SIZE);
  writeGdt(memory);
  if (mode === 64) writePageTables(memory);
  new Uint8Array(memory.buffer).set(code, CODE_BASE);
  accelerator.setBootState({
    sregs: mode === 64 ? longMode() : flat32(),
    regs: { rip: CODE_BASE, rsp: STACK_TOP, rflags: RFLAGS_RESERVED },
  });
  return { accelerator, memory, exits };
}

/** Records io-out exits as [port, size, data]. */
function outRecorder(): { outs: [number, number, number][]; handler: (exit: VcpuExit) => void } {
  const outs: [number, number, number][] = [];
  return { outs, handler: (exit) => (exit.kind === 'io-out' ? void outs.push([exit.port, exit.size, exit.data]) : undefined) };
}

describe('EmulatedAccelerator in 32-bit protected mode', () => {
  it('reports OUT with port, size and data, and decodes as 32-bit code', () => {
    const { outs, handler } = outRecorder();
    const code = assemble(
      `mov $0x12345678, %eax
       out %eax, $0x80
       mov $0x3f8, %dx
       mov $0xab, %al
       out %al, (%dx)
       mov $0xbeef, %ax
       out %ax, (%dx)
       mov $5, %eax
       .byte 0x48          /* dec %eax in 32-bit code, a REX prefix in 64-bit code */
       mov %eax, %ebx
       out %eax, $0x84
       hlt`,
      32,
    );
    const { accelerator } = boot(code, handler);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([
      [0x80, 4, 0x12345678],
      [0x3f8, 1, 0xab],
      [0x3f8, 2, 0xbeef],
      [0x84, 4, 4],
    ]);
  });

  it('returns the handler value to IN exactly once per instruction, leaving other registers intact', () => {
    const { outs, handler } = outRecorder();
    let inCount = 0;
    const code = assemble(
      `mov $0xdeadbeef, %ebx
       mov $100, %ecx
       xor %esi, %esi
     1: in $0x60, %al
       movzbl %al, %eax
       add %eax, %esi
       inw $0x62, %ax
       movzwl %ax, %eax
       add %eax, %esi
       mov $0x64, %dx
       inl (%dx), %eax
       add %eax, %esi
       loop 1b
       mov %esi, %eax
       out %eax, $0x80
       mov %ebx, %eax
       out %eax, $0x81
       hlt`,
      32,
    );
    const { accelerator } = boot(code, (exit) => {
      handler(exit);
      if (exit.kind === 'io-in') {
        inCount++;
        exit.data = exit.port === 0x60 ? 0x1ff : exit.port === 0x62 ? 0x1_0002 : 3; // bits beyond size dropped
      }
    });
    expect(accelerator.runSlice()).toBe('hlt');
    expect(inCount).toBe(300);
    expect(outs).toEqual([
      [0x80, 4, 100 * (0xff + 2 + 3)],
      [0x81, 4, 0xdeadbeef],
    ]);
  });

  it('reads all ones from an IN the handler does not answer', () => {
    const { outs, handler } = outRecorder();
    const { accelerator } = boot(assemble('in $0x70, %al\nout %al, $0x80\nhlt', 32), handler);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([[0x80, 1, 0xff]]);
  });

  it('round-trips MMIO reads and writes with the guest-physical address', () => {
    const { outs, handler } = outRecorder();
    const writes: [number, number, number][] = [];
    const reads: [number, number][] = [];
    const code = assemble(
      `movl $0xcafef00d, ${MMIO_BASE + 0x10}
       movw $0x1234, ${MMIO_BASE + 0x14}
       movb $0x56, ${MMIO_BASE + 0x16}
       mov ${MMIO_BASE + 0x20}, %eax
       out %eax, $0x80
       movb ${MMIO_BASE + 0x24}, %al
       out %al, $0x81
       hlt`,
      32,
    );
    const { accelerator } = boot(code, (exit) => {
      handler(exit);
      if (exit.kind === 'mmio-write') writes.push([exit.address, exit.size, exit.data]);
      if (exit.kind === 'mmio-read') {
        reads.push([exit.address, exit.size]);
        exit.data = exit.address === MMIO_BASE + 0x20 ? 0x8765_4321 : 0x99;
      }
    });
    expect(accelerator.runSlice()).toBe('hlt');
    expect(writes).toEqual([
      [MMIO_BASE + 0x10, 4, 0xcafef00d],
      [MMIO_BASE + 0x14, 2, 0x1234],
      [MMIO_BASE + 0x16, 1, 0x56],
    ]);
    expect(reads).toEqual([
      [MMIO_BASE + 0x20, 4],
      [MMIO_BASE + 0x24, 1],
    ]);
    expect(outs).toEqual([
      [0x80, 4, 0x8765_4321],
      [0x81, 1, 0x99],
    ]);
  });

  it('returns hlt with RIP after the HLT, and continues from there', () => {
    const { outs, handler } = outRecorder();
    const code = assemble('hlt\nmov $7, %al\nout %al, $0x80\nhlt', 32);
    const { accelerator } = boot(code, handler);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(accelerator.getRegs().rip).toBe(BigInt(CODE_BASE + 1));
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([[0x80, 1, 7]]);
  });

  it('ends a `jmp .` spin at the slice end, and can run it again', () => {
    const { accelerator, exits } = boot(assemble('jmp .', 32), () => undefined, 32, SHORT_SLICE_MICROS);
    for (let i = 0; i < 3; i++) {
      const started = process.hrtime.bigint();
      expect(accelerator.runSlice()).toBe('slice-end');
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      expect(elapsedMs).toBeLessThan(1000); // bounded, not timed: the slice is 1 ms
      expect(accelerator.getRegs().rip).toBe(BigInt(CODE_BASE));
    }
    expect(exits).toEqual([]);
  });

  it('ends the slice when an OUT handler calls requestStop, and resumes where it stopped', () => {
    const seen: number[] = [];
    const code = assemble('xor %eax, %eax\n1: out %eax, $0x80\ninc %eax\njmp 1b', 32);
    const harness = boot(code, (exit) => {
      if (exit.kind !== 'io-out') return;
      seen.push(exit.data);
      if (exit.data === 2 || exit.data === 10) harness.accelerator.requestStop();
    });
    expect(harness.accelerator.runSlice()).toBe('stop-requested');
    expect(seen).toEqual([0, 1, 2]);
    expect(harness.accelerator.runSlice()).toBe('stop-requested');
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('returns stop-requested before running when requestStop came between slices', () => {
    const { outs, handler } = outRecorder();
    const { accelerator } = boot(assemble('out %al, $0x80\nhlt', 32), handler);
    accelerator.requestStop();
    expect(accelerator.runSlice()).toBe('stop-requested');
    expect(outs).toEqual([]);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toHaveLength(1);
  });

  it.each([
    ['ud2', 'ud2', VECTOR_INVALID_OPCODE],
    ['int3', 'int3', VECTOR_BREAKPOINT],
    ['divide by zero', 'xor %ecx, %ecx\ndiv %ecx', VECTOR_DIVIDE_ERROR],
  ])('reports %s as an exception with its vector', (_name, source, vector) => {
    const vectors: number[] = [];
    const { accelerator } = boot(assemble(source, 32), (exit) => {
      if (exit.kind === 'exception') vectors.push(exit.vector);
    });
    expect(accelerator.runSlice()).toBe('exception');
    expect(vectors).toEqual([vector]);
  });

  it.each([
    ['read', 'mov 0x40000000, %eax', 0x4000_0000],
    ['write', 'movl $1, 0x40000010', 0x4000_0010],
    ['fetch', 'jmp *%eax', 0x4000_0020],
  ] as const)('reports an unmapped %s with its address', (access, source, address) => {
    const seen: { address: number; access: string }[] = [];
    const { accelerator } = boot(assemble(`mov $0x40000020, %eax\n${source}`, 32), (exit) => {
      if (exit.kind === 'unmapped') seen.push({ address: exit.address, access: exit.access });
    });
    expect(accelerator.runSlice()).toBe('unmapped');
    expect(seen).toEqual([{ address, access }]);
  });

  it('runs stale translated code after a host write until the range is invalidated', () => {
    const { outs, handler } = outRecorder();
    const code = assemble('mov $1, %al\nout %al, $0x80\nhlt', 32);
    const { accelerator, memory } = boot(code, handler);
    const bytes = new Uint8Array(memory.buffer);
    const again = (): void => {
      accelerator.setRegs({ rip: CODE_BASE });
      expect(accelerator.runSlice()).toBe('hlt');
    };
    expect(accelerator.runSlice()).toBe('hlt');
    bytes[CODE_BASE + 1] = 2; // the immediate of mov $1, %al
    again();
    accelerator.invalidate(CODE_BASE, 2);
    again();
    bytes[CODE_BASE + 1] = 3;
    again();
    accelerator.flushAll();
    again();
    expect(outs.map(([, , data]) => data)).toEqual([1, 1, 2, 2, 3]);
  });

  it('rethrows an exception thrown by the exit handler and stays usable', () => {
    let calls = 0;
    const code = assemble('1: out %al, $0x80\njmp 1b', 32);
    const { accelerator } = boot(code, () => {
      calls++;
      if (calls === 1) throw new Error('device failed');
    });
    expect(() => accelerator.runSlice()).toThrow('device failed');
    expect(calls).toBe(1); // the handler is not called again once it has thrown in this run
    expect(accelerator.runSlice()).toBe('slice-end');
    expect(calls).toBeGreaterThan(1);
  });

  it('reuses one exit object for every exit', () => {
    const objects = new Set<VcpuExit>();
    const { accelerator } = boot(assemble('out %al, $0x80\nin $0x60, %al\nhlt', 32), (exit) => void objects.add(exit));
    expect(accelerator.runSlice()).toBe('hlt');
    expect(objects.size).toBe(1);
  });
});

describe('EmulatedAccelerator in other CPU modes', () => {
  it('runs 64-bit long mode over identity-mapped page tables', () => {
    const { outs, handler } = outRecorder();
    const code = assemble(
      `movabs $0x1122334455667788, %rax
       push %rax
       pop %rbx
       out %eax, $0x80
       shr $32, %rax
       out %eax, $0x81
       mov $0x200000, %rcx   /* beyond the 1 MiB of RAM: still identity mapped, so unmapped physically */
       mov %rbx, %rax
       hlt`,
      64,
    );
    const { accelerator } = boot(code, handler, 64);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([
      [0x80, 4, 0x5566_7788],
      [0x81, 4, 0x1122_3344],
    ]);
    const regs = accelerator.getRegs();
    expect(regs.rax).toBe(0x1122_3344_5566_7788n);
    expect(regs.rsp).toBe(BigInt(STACK_TOP));
  });

  it('pins Unicorn 2.0.1 accessing memory by virtual address (why page tables must be identity maps)', () => {
    const { outs, handler } = outRecorder();
    // VA 0x7000 maps to PA 0x8000 through 4 KiB pages; a CPU that honours the tables would read 0x22.
    const [PT, VA, OTHER] = [0x5000, 0x7000, 0x8000];
    const { accelerator, memory } = boot(assemble(`movb ${VA}, %al\nout %al, $0x80\nhlt`, 64), handler, 64);
    const entries = new BigUint64Array(memory.buffer);
    entries[PD_BASE / 8] = BigInt(PT) | PTE_PRESENT_WRITABLE;
    for (let i = 0; i < 512; i++) entries[PT / 8 + i] = BigInt(i * 0x1000) | PTE_PRESENT_WRITABLE;
    entries[PT / 8 + VA / 0x1000] = BigInt(OTHER) | PTE_PRESENT_WRITABLE;
    new Uint8Array(memory.buffer).set([0x11], VA);
    new Uint8Array(memory.buffer).set([0x22], OTHER);
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs.map(([, , data]) => data)).toEqual([0x11]);
  });

  it('invalidates harmlessly where the page tables map nothing', () => {
    const { accelerator } = boot(assemble('hlt', 64), () => undefined, 64);
    expect(accelerator.runSlice()).toBe('hlt');
    accelerator.invalidate(0x8000_0000, 0x2000); // beyond the 1 GiB the tables map
    accelerator.flushAll();
    accelerator.setRegs({ rip: CODE_BASE });
    expect(accelerator.runSlice()).toBe('hlt');
  });

  it('delivers an 8-byte MMIO load in long mode as the value the handler gives', () => {
    const { outs, handler } = outRecorder();
    const code = assemble(
      `mov ${MMIO_BASE + 0x40}, %rax
       out %eax, $0x80
       shr $32, %rax
       out %eax, $0x81
       movabs $0x0102030405060708, %rax
       mov %rax, ${MMIO_BASE + 0x48}
       hlt`,
      64,
    );
    const writes = new Map<number, number>();
    const { accelerator } = boot(
      code,
      (exit) => {
        handler(exit);
        // Unicorn 2.0.1 splits 8-byte accesses into two 4-byte ones; answer either shape.
        if (exit.kind === 'mmio-read') {
          const offset = exit.address - (MMIO_BASE + 0x40);
          exit.data = offset === 4 ? 0xaabb_ccdd : 0x1122_3344;
          exit.dataHigh = 0xaabb_ccdd;
        }
        if (exit.kind === 'mmio-write') {
          writes.set(exit.address, exit.data);
          if (exit.size === 8) writes.set(exit.address + 4, exit.dataHigh);
        }
      },
      64,
    );
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([
      [0x80, 4, 0x1122_3344],
      [0x81, 4, 0xaabb_ccdd],
    ]);
    expect([...writes.entries()]).toEqual([
      [MMIO_BASE + 0x48, 0x0506_0708],
      [MMIO_BASE + 0x4c, 0x0102_0304],
    ]);
  });

  it('runs 16-bit real mode with selector-derived bases', () => {
    const { outs, handler } = outRecorder();
    const code = assemble('mov $0x1234, %ax\nout %ax, $0x80\nhlt', 16, 0);
    const { accelerator, memory } = boot(new Uint8Array(), handler);
    const realSegment = (selector: number): SegmentState => ({ ...segment(selector, false), base: selector << 4, limit: 0xffff, db: 0, g: 0 });
    new Uint8Array(memory.buffer).set(code, 0x2_0000);
    accelerator.setBootState({
      sregs: { ...flat32(), cs: realSegment(0x2000), ds: realSegment(0), es: realSegment(0), fs: realSegment(0), gs: realSegment(0), ss: realSegment(0), cr0: CR0_ET },
      regs: { rip: 0, rsp: 0x8000 },
    });
    expect(accelerator.runSlice()).toBe('hlt');
    expect(outs).toEqual([[0x80, 2, 0x1234]]);
  });

  it('keeps general registers across setSregs and round-trips full 64-bit values', () => {
    const { accelerator } = boot(assemble('hlt', 32), () => undefined);
    accelerator.setRegs({ rax: 0xffff_ffff_ffff_ffffn, r15: 0x8000_0000_0000_0001n, rbx: 42 });
    accelerator.setSregs(longMode());
    const regs = accelerator.getRegs();
    expect(regs.rax).toBe(0xffff_ffff_ffff_ffffn);
    expect(regs.r15).toBe(0x8000_0000_0000_0001n);
    expect(regs.rbx).toBe(42n);
    expect(regs.rip).toBe(BigInt(CODE_BASE));
  });
});

describe('EmulatedAccelerator argument checks and lifetime', () => {
  it('rejects bad arguments before they reach native code', () => {
    const { accelerator } = boot(assemble('hlt', 32), () => undefined);
    expect(() => accelerator.mapMmio(0x12_3001, 0x1000)).toThrow(RangeError);
    expect(() => accelerator.mapMmio(0x20_0000, 0)).toThrow(RangeError);
    expect(() => accelerator.mapRam(0x20_0000, {} as GuestMemory)).toThrow(TypeError);
    expect(() => accelerator.setRegs({ rax: -1 })).toThrow(RangeError);
    expect(() => accelerator.setRegs({ rax: 1n << 64n })).toThrow(RangeError);
    expect(() => accelerator.setSregs({ ...flat32(), cr0: 2 ** 33 })).toThrow(RangeError);
    expect(() => accelerator.invalidate(-1, 1)).toThrow(RangeError);
    expect(() => new EmulatedAccelerator({ handleExit: () => undefined, sliceMicros: 0 })).toThrow(RangeError);
  });

  it('refuses a GDT outside guest RAM and an unloadable selector', () => {
    const { accelerator } = boot(assemble('hlt', 32), () => undefined);
    expect(() => accelerator.setSregs({ ...flat32(), gdt: { base: 0x20_0000, limit: 31 } })).toThrow(/GDT/);
    expect(() => accelerator.setSregs({ ...flat32(), ds: segment(0x40, false) })).toThrow(/ds/);
  });

  it('refuses flushAll and close from inside an exit handler', () => {
    const errors: string[] = [];
    const harness = boot(assemble('out %al, $0x80\nhlt', 32), () => {
      for (const call of [() => harness.accelerator.flushAll(), () => harness.accelerator.close()]) {
        try {
          call();
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
      harness.accelerator.invalidate(CODE_BASE, 4096); // allowed: DMA from a device handler
    });
    expect(harness.accelerator.runSlice()).toBe('hlt');
    expect(errors).toHaveLength(2);
  });

  it('closes twice safely and refuses to run afterwards', () => {
    const { accelerator } = boot(assemble('hlt', 32), () => undefined);
    accelerator.close();
    accelerator.close();
    expect(() => accelerator.runSlice()).toThrow(/closed/);
  });
});
