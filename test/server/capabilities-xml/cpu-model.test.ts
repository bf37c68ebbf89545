/** libvirt's host-model choice rules (x86Decode for a host CPU) on small hand-made maps. */
import { describe, expect, it } from 'vitest';
import { decodeHostCpuModel, libvirtVendorName, type CpuMapModel, type X86CpuMap } from '../../../server/src/capabilities-xml';

function map(models: CpuMapModel[]): X86CpuMap {
  return {
    dir: '/fake',
    vendors: new Map([
      ['Intel', 'GenuineIntel'],
      ['AMD', 'AuthenticAMD'],
    ]),
    features: new Map(),
    models,
  };
}

function model(name: string, features: string[], extra: Partial<CpuMapModel> = {}): CpuMapModel {
  return { name, features, decodeHost: true, signatures: [], ...extra };
}

const amd = (features: string[], family = 25, m = 1, stepping = 0) => ({
  vendorString: 'AuthenticAMD',
  family,
  model: m,
  stepping,
  features,
});

describe('decodeHostCpuModel', () => {
  it('never picks a model with a feature the host lacks', () => {
    const m = map([model('small', ['fpu']), model('big', ['fpu', 'sse', 'avx512f'])]);
    expect(decodeHostCpuModel(amd(['fpu', 'sse']), m)).toEqual({ model: 'small', extraFeatures: ['sse'] });
  });

  it('prefers the model leaving fewer features to list', () => {
    const m = map([model('a', ['fpu']), model('b', ['fpu', 'sse']), model('c', ['sse'])]);
    expect(decodeHostCpuModel(amd(['fpu', 'sse', 'avx']), m)).toEqual({ model: 'b', extraFeatures: ['avx'] });
  });

  it('prefers a model made for the host\'s family/model over one with fewer extras', () => {
    const m = map([
      model('zen3', ['fpu'], { vendor: 'AMD', signatures: [{ family: 25, model: 1 }] }),
      model('generic', ['fpu', 'sse']),
    ]);
    expect(decodeHostCpuModel(amd(['fpu', 'sse']), m)?.model).toBe('zen3');
    expect(decodeHostCpuModel(amd(['fpu', 'sse'], 23, 1), m)?.model).toBe('generic');
  });

  it('honours stepping ranges of signatures', () => {
    const sig = (first: number, last: number) => ({ family: 6, model: 85, steppings: [first, last] as [number, number] });
    const m = map([
      model('skx', ['fpu'], { vendor: 'Intel', signatures: [sig(0, 4)] }),
      model('clx', ['fpu'], { vendor: 'Intel', signatures: [sig(5, 7)] }),
    ]);
    const intel = (stepping: number) => ({ vendorString: 'GenuineIntel', family: 6, model: 85, stepping, features: ['fpu'] });
    expect(decodeHostCpuModel(intel(4), m)?.model).toBe('skx');
    expect(decodeHostCpuModel(intel(7), m)?.model).toBe('clx');
  });

  it('skips other vendors\' models and those marked decode host=off; ties go to the later model', () => {
    const m = map([
      model('early', ['fpu']),
      model('late', ['fpu']),
      model('intel', ['fpu', 'sse'], { vendor: 'Intel' }),
      model('hidden', ['fpu', 'sse'], { decodeHost: false }),
    ]);
    expect(decodeHostCpuModel(amd(['fpu', 'sse']), m)).toEqual({ model: 'late', extraFeatures: ['sse'] });
  });

  it('answers undefined when no model fits', () => {
    expect(decodeHostCpuModel(amd(['fpu']), map([model('x', ['sse'])]))).toBeUndefined();
  });

  it('maps CPUID vendor strings to libvirt\'s names', () => {
    expect(libvirtVendorName('AuthenticAMD', map([]))).toBe('AMD');
    expect(libvirtVendorName('CentaurHauls', map([]))).toBeUndefined();
  });
});
