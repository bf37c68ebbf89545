import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuBrand, cpuVendor, createHostProbe, decodeSignature, parseCpuinfoFlags, type CpuidFn } from '../../../server/src/host';
import { lscpu, lscpuField, run, userCpuid } from './independent-sources';

/** A CPUID answering from a table of leaf → [eax, ebx, ecx, edx]; absent leaves read as zeros. */
function fakeCpuid(table: Record<number, [number, number, number, number]>): CpuidFn {
  return (leaf) => table[leaf] ?? [0, 0, 0, 0];
}

/** Packs up to 16 ASCII bytes into four little-endian registers (CPUID's string layout). */
function registers(text: string): [number, number, number, number] {
  const bytes = Buffer.alloc(16);
  bytes.write(text, 'latin1');
  return [bytes.readUInt32LE(0), bytes.readUInt32LE(4), bytes.readUInt32LE(8), bytes.readUInt32LE(12)];
}

describe('decodeSignature', () => {
  // Published CPUID leaf 1 EAX values and the family/model/stepping Linux shows for them in /proc/cpuinfo.
  it.each([
    ['Pentium 4 Northwood', 0x00000f29, 15, 2, 9],
    ['Athlon 64 X2 (K8, extended model on family 0xF)', 0x00020fb1, 15, 0x2b, 1],
    ['Skylake-SP Xeon', 0x00050654, 6, 0x55, 4],
    ['Coffee Lake Core i7-8700', 0x000906ea, 6, 0x9e, 10],
    ['EPYC 7763 (Zen 3, family 0x19)', 0x00a00f11, 0x19, 1, 1],
    ['EPYC 9005 (Zen 5, family 0x1A)', 0x00b00f21, 0x1a, 2, 1],
  ])('%s', (_name, signature, family, model, stepping) => {
    expect(decodeSignature(signature)).toEqual({ family, model, stepping });
  });

  it('ignores the extended model below family 6, as Linux x86_model() does', () => {
    // A 486 signature (family 4, model 3, stepping 5) with extended model bits set.
    expect(decodeSignature(0x00010435)).toEqual({ family: 4, model: 3, stepping: 5 });
  });

  it('ignores the extended family unless the base family is 0xF', () => {
    expect(decodeSignature(0x00f00635)).toEqual({ family: 6, model: 3, stepping: 5 });
  });
});

describe('CPUID strings', () => {
  it('reads the vendor from EBX, EDX, ECX of leaf 0', () => {
    const [, ebx, edx, ecx] = registers('\0\0\0\0GenuineIntel');
    expect(cpuVendor(fakeCpuid({ 0: [0x16, ebx, ecx, edx] }))).toBe('GenuineIntel');
  });

  it('reads the brand string from leaves 0x80000002..4, trimmed as Linux does', () => {
    const brand = '      Intel(R) Xeon(TM) CPU 3.00GHz'.padEnd(47, '\0');
    const cpuid = fakeCpuid({
      0x80000000: [0x80000008, 0, 0, 0],
      0x80000002: registers(brand.slice(0, 16)),
      0x80000003: registers(brand.slice(16, 32)),
      0x80000004: registers(brand.slice(32, 48)),
    });
    expect(cpuBrand(cpuid)).toBe('Intel(R) Xeon(TM) CPU 3.00GHz');
  });

  it('has no brand string when the extended leaves stop before 0x80000004', () => {
    expect(cpuBrand(fakeCpuid({ 0x80000000: [0x80000001, 0, 0, 0], 0x80000002: registers('not a brand') }))).toBe('');
  });
});

describe('parseCpuinfoFlags', () => {
  it('splits on runs of blanks and reads the first processor only', () => {
    const cpuinfo = 'processor\t: 0\nflags\t\t: fpu  vme   pti        vmmcall\n\nprocessor\t: 1\nflags\t\t: other\n';
    expect(parseCpuinfoFlags(cpuinfo)).toEqual(['fpu', 'vme', 'pti', 'vmmcall']);
  });
});

describe('host CPU (against lscpu)', () => {
  const cpu = createHostProbe().host().cpu;

  it('arch is uname -m', () => {
    expect(cpu.arch).toBe(run('uname', ['-m']).trim());
    expect(cpu.arch).toBe(lscpuField('Architecture'));
  });

  it('vendor is lscpu "Vendor ID"', () => {
    expect(cpu.vendor).toBe(lscpuField('Vendor ID'));
  });

  it('model name is the CPUID brand string a gcc-built program reads, blanks trimmed', () => {
    // Not lscpu's "Model name": that is /proc/cpuinfo's copy, read by the kernel at boot in kernel mode. Where the
    // hypervisor answers user-mode CPUID differently, or the VM was restored on another host, the two differ
    // (on the machine this was written on: CPUID "Oxide Virtual Turin-like Processor", kernel "AMD EPYC").
    expect(cpu.modelName).toBe(userCpuid().brand.trim());
  });

  it('vendor and signature are what the gcc-built program reads', () => {
    const user = userCpuid();
    expect(cpu.vendor).toBe(user.vendor);
    expect(cpu.signature).toBe(user.signature);
  });

  it('family, model and stepping are lscpu\'s', () => {
    expect(cpu.family).toBe(Number(lscpuField('CPU family')));
    expect(cpu.model).toBe(Number(lscpuField('Model')));
    expect(cpu.stepping).toBe(Number(lscpuField('Stepping')));
  });

  it('signature decodes to the same family, model and stepping as the kernel shows', () => {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}\\s*:\\s*(\\d+)`, 'm').exec(cpuinfo)?.[1]);
    expect(decodeSignature(cpu.signature)).toEqual({
      family: field('cpu family'),
      model: field('model'),
      stepping: field('stepping'),
    });
  });

  it('features are lscpu "Flags", in order', () => {
    const flags = lscpu().get('Flags');
    expect(flags, 'lscpu prints Flags').toBeDefined();
    expect(cpu.features).toEqual(flags?.split(/\s+/).filter((f) => f !== ''));
    expect(cpu.features.length).toBeGreaterThan(0);
  });
});
