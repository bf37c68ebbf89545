import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { checkFits, DEFAULT_OVERCOMMIT, hostBudget, parseRatio } from '../../../server/src/access';
import { ApiError } from '../../../server/src/errors';

const GiB = 1 << 30;
const host = { cpus: 4, memoryBytes: 8 * GiB };

function refusal(fn: () => void): ApiError {
  try {
    fn();
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected RESOURCE_EXHAUSTED');
}

describe('checkFits', () => {
  it('defaults: memory not overcommitted, 4 vCPUs per host CPU', () => {
    expect(DEFAULT_OVERCOMMIT).toEqual({ vcpu: 4, memory: 1 });
    expect(hostBudget(host, DEFAULT_OVERCOMMIT)).toEqual({ vcpus: 16, memoryBytes: 8 * GiB });
  });

  it('accepts a domain that fits exactly and refuses one byte more, saying what is short', () => {
    const running = [{ vcpus: 2, memoryBytes: 3 * GiB }, { vcpus: 2, memoryBytes: 3 * GiB }];
    expect(() => checkFits(running, { vcpus: 1, memoryBytes: 2 * GiB }, host)).not.toThrow();
    const err = refusal(() => checkFits(running, { vcpus: 1, memoryBytes: 2 * GiB + 4096 }, host));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.message).toBe(`domain needs ${2 * GiB + 4096} bytes of memory but only ${2 * GiB} of ${8 * GiB} are free (host ${8 * GiB} bytes × memory overcommit 1)`);
  });

  it('counts vCPUs against host CPUs × the vCPU ratio', () => {
    const running = Array.from({ length: 7 }, () => ({ vcpus: 2, memoryBytes: GiB / 8 }));
    expect(() => checkFits(running, { vcpus: 2, memoryBytes: GiB / 8 }, host)).not.toThrow();
    const err = refusal(() => checkFits(running, { vcpus: 3, memoryBytes: GiB / 8 }, host));
    expect(err.message).toBe('domain needs 3 vCPUs but only 2 of 16 are free (4 host CPUs × vCPU overcommit 4)');
    expect(() => checkFits(running, { vcpus: 3, memoryBytes: GiB / 8 }, host, { vcpu: 5, memory: 1 })).not.toThrow();
  });

  it('reports both shortages at once, and honours memory overcommit and fractional ratios', () => {
    const err = refusal(() => checkFits([], { vcpus: 17, memoryBytes: 9 * GiB }, host));
    expect(err.message).toMatch(/memory.*; needs 17 vCPUs/);
    expect(() => checkFits([], { vcpus: 1, memoryBytes: 12 * GiB }, host, { vcpu: 4, memory: 1.5 })).not.toThrow();
    expect(hostBudget({ cpus: 3, memoryBytes: 1000 }, { vcpu: 0.5, memory: 0.9 })).toEqual({ vcpus: 1, memoryBytes: 900 });
  });
});

describe('parseRatio', () => {
  it('takes positive finite numbers only', () => {
    expect(parseRatio('--vcpu-overcommit', '4.0')).toBe(4);
    expect(parseRatio('--memory-overcommit', '0.5')).toBe(0.5);
    for (const bad of ['0', '-1', 'abc', '', 'Infinity']) expect(() => parseRatio('--memory-overcommit', bad)).toThrow(/--memory-overcommit/);
  });
});
