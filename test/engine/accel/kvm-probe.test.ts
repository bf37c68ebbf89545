/**
 * probeKvm on this machine. Without /dev/kvm (every development machine and CI here) it must say why, naming
 * the device and the errno; where /dev/kvm exists it must report API 12 and the extension answers.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { probeKvm, REQUIRED_KVM_EXTENSIONS } from '../../../engine/src/accel';
import { native } from '../../../engine/src/native';

describe('probeKvm', () => {
  it('explains why /dev/kvm is unavailable, or reports it fully', () => {
    const result = probeKvm();
    if (!existsSync('/dev/kvm')) {
      expect(result.available).toBe(false);
      expect(result.reason).toContain('/dev/kvm');
      expect(result.reason).toContain('ENOENT');
      expect(result.extensions).toEqual([]);
      return;
    }
    console.log(`/dev/kvm present: ${JSON.stringify(result)}`);
    expect(result.apiVersion).toBe(12);
    const required = result.extensions.filter((e) => e.required).map((e) => e.name);
    expect(required).toEqual([...REQUIRED_KVM_EXTENSIONS]);
    expect(result.maxVcpus).toBeGreaterThan(0);
    expect(result.recommendedVcpus).toBeGreaterThan(0);
  });

  it('names a device that opens but is not KVM, with the ioctl errno', () => {
    const result = probeKvm('/dev/null');
    expect(result.available).toBe(false);
    expect(result.reason).toMatch(/\/dev\/null.*ENOTTY|ENOTTY.*\/dev\/null/);
  });

  it('lists each required extension with its linux/kvm.h number', () => {
    for (const name of REQUIRED_KVM_EXTENSIONS) expect(Number.isInteger(native.kvmConstants[name])).toBe(true);
  });
});
