/**
 * Linux flag names → libvirt's, against libvirt's real cpu_map; virsh (libvirt's own parser) then accepts every
 * name produced, which it would refuse if libvirt did not know it.
 */
import { describe, expect, it } from 'vitest';
import { libvirtFeatureName, libvirtFeatures, loadX86CpuMap } from '../../../server/src/capabilities-xml';
import { lscpuField } from '../host/independent-sources';
import { CPU_MAP_DIR, libvirtToolsMissing, virshCpuBaselineFeatures } from './libvirt-tools';

const missing = libvirtToolsMissing();

describe.skipIf(missing !== undefined)('libvirt feature names', () => {
  const map = () => loadX86CpuMap(CPU_MAP_DIR)!;

  it.each([
    ['avx2', 'avx2'], // same name
    ['sse4_1', 'sse4.1'], // cpu_map alias
    ['pclmulqdq', 'pclmuldq'], // cpu_map alias (QEMU's spelling)
    ['md_clear', 'md-clear'], // cpu_map alias (source linux)
    ['sha_ni', 'sha-ni'], // '_' read as '-'
    ['tsc_deadline_timer', 'tsc-deadline'], // Linux's own spelling
    ['avx512_vbmi2', 'avx512vbmi2'],
  ])('%s → %s', (linux, libvirt) => {
    expect(libvirtFeatureName(linux, map())).toBe(libvirt);
  });

  it.each(['constant_tsc', 'pti', 'rep_good', 'ibrs', 'ibpb', 'ssbd', 'stibp'])('%s has no libvirt feature', (flag) => {
    expect(libvirtFeatureName(flag, map())).toBeUndefined();
  });

  it('every name produced for this host\'s lscpu flags is one libvirt accepts', () => {
    const names = libvirtFeatures(lscpuField('Flags').split(/\s+/), map());
    expect(names.length).toBeGreaterThan(10);
    const cpuXml = `<cpu><arch>x86_64</arch><model>486</model>${names.map((n) => `<feature name='${n}'/>`).join('')}</cpu>`;
    // virsh fails ("Unknown CPU feature …") on any name libvirt does not know.
    const expanded = virshCpuBaselineFeatures(cpuXml).features;
    for (const name of names) expect(expanded).toContain(name);
  });
});

describe('without libvirt\'s cpu_map', () => {
  it('loadX86CpuMap answers undefined', () => {
    expect(loadX86CpuMap('/nonexistent/cpu_map')).toBeUndefined();
  });
});
