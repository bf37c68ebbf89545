import { describe, expect, it } from 'vitest';
import { Scrollback } from '../../../engine/src/console/scrollback';

describe('Scrollback', () => {
  it('keeps everything while under capacity, oldest first', () => {
    const ring = new Scrollback(16);
    ring.append(Buffer.from('hello '));
    ring.append(Buffer.from('world'));
    expect(ring.snapshot().toString()).toBe('hello world');
  });

  it('keeps only the newest bytes once full, across wrap-around', () => {
    const ring = new Scrollback(8);
    ring.append(Buffer.from('abcdef'));
    ring.append(Buffer.from('ghij'));
    expect(ring.snapshot().toString()).toBe('cdefghij');
    ring.append(Buffer.from('kl'));
    expect(ring.snapshot().toString()).toBe('efghijkl');
  });

  it('keeps the tail of a single chunk larger than the ring', () => {
    const ring = new Scrollback(4);
    ring.append(Buffer.from('0123456789'));
    expect(ring.snapshot().toString()).toBe('6789');
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Scrollback(0)).toThrow(/positive integer/);
  });
});
