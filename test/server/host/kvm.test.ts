import { closeSync, constants, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readKvm, type KvmProbeFn } from '../../../server/src/host/kvm';

/** Whether /dev/kvm opens read-write, as every KVM user opens it; the error when it does not. */
function openDevKvm(): { ok: true } | { ok: false; error: NodeJS.ErrnoException } {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return { ok: true };
  } catch (error) {
    return { ok: false, error: error as NodeJS.ErrnoException };
  }
}

describe('KVM on this host', () => {
  const kvm = readKvm();
  const opened = openDevKvm();

  it('is available exactly when /dev/kvm opens', () => {
    expect(kvm.available).toBe(opened.ok);
  });

  it.runIf(!opened.ok)('says why, naming /dev/kvm', () => {
    expect(kvm.unavailableReason).toMatch(/\/dev\/kvm/);
    expect(kvm.apiVersion).toBe(0);
  });

  it.runIf(opened.ok)('reports API version 12 and a vCPU bound', () => {
    // KVM_API_VERSION has been 12 since Linux 2.6.22 (Documentation/virt/kvm/api.rst).
    expect(kvm.apiVersion).toBe(12);
    expect(kvm.unavailableReason).toBe('');
    expect(kvm.maxVcpus).toBeGreaterThan(0);
  });
});

describe('readKvm adapter', () => {
  it('fills absent numbers with 0', () => {
    const probe: KvmProbeFn = () => ({
      available: true,
      apiVersion: 12,
      extensions: [{ name: 'KVM_CAP_IRQCHIP', number: 2, value: 1, required: true }],
    });
    expect(readKvm(probe)).toEqual({
      available: true,
      unavailableReason: '',
      apiVersion: 12,
      extensions: [{ name: 'KVM_CAP_IRQCHIP', number: 2, value: 1, required: true }],
      maxVcpus: 0,
      recommendedVcpus: 0,
    });
  });

  it('always gives a reason when unavailable', () => {
    const probe: KvmProbeFn = () => ({ available: false, extensions: [] });
    expect(readKvm(probe).unavailableReason).toMatch(/\/dev\/kvm/);
  });
});
