/**
 * TapBackend's refusals, on this host's real interfaces: each error names the tap and says what is wrong. Taps
 * that exist are exercised end to end in test/integration/virtio-net.test.ts (inside a test-made netns).
 */
import { describe, expect, it } from 'vitest';
import { TapBackend, tapNameProblem } from '../../../../engine/src/virtio/net';

const runningAsRoot = process.getuid?.() === 0;

describe('TapBackend', () => {
  it('refuses names Linux cannot hold or hv does not accept, before any syscall', () => {
    expect(tapNameProblem('tap0')).toBeUndefined();
    expect(tapNameProblem('')).toBe('required');
    expect(tapNameProblem('a'.repeat(16))).toMatch(/longer than 15/);
    for (const name of ['a/b', 'a b', 'a:1', '..']) expect(tapNameProblem(name)).toMatch(/letters, digits/);
    expect(() => TapBackend.open('x'.repeat(16))).toThrow(/tap name "x{16}" is longer than 15/);
  });

  it('refuses a tap that does not exist, naming it, and creates none', () => {
    expect(() => TapBackend.open('hv-no-such-tap')).toThrow('tap "hv-no-such-tap" does not exist (create it first: ip tuntap add dev hv-no-such-tap mode tap)');
    expect(() => TapBackend.open('hv-no-such-tap')).toThrow(/does not exist/); // still missing: TUNSETIFF made none
  });

  it.skipIf(!runningAsRoot)('refuses an interface that is not a tap (the loopback), naming it', () => {
    expect(() => TapBackend.open('lo')).toThrow('"lo" is not a tap interface hv can attach (a tun, another kind of link, or a multi_queue tap)');
  });
});
