import { describe, expect, it } from 'vitest';
import { intxGsi, PCI_INTX_GSI_BASE } from '../../../engine/src/pci';

describe('INTx routing', () => {
  it('swizzles slot pins over GSIs 16-19 as the bridge swizzle (and a _PRT) describes', () => {
    expect([1, 2, 3, 4].map((slot) => intxGsi(slot, 1))).toEqual([17, 18, 19, 16]);
    expect([1, 2, 3, 4].map((pin) => intxGsi(1, pin))).toEqual([17, 18, 19, 16]);
    for (let slot = 0; slot < 32; slot++) {
      for (let pin = 1; pin <= 4; pin++) {
        expect(intxGsi(slot, pin) - PCI_INTX_GSI_BASE).toBe((slot + pin - 1) % 4);
      }
    }
  });

  it('refuses pins outside INTA..INTD', () => {
    expect(() => intxGsi(1, 0)).toThrow(RangeError);
    expect(() => intxGsi(1, 5)).toThrow(RangeError);
  });
});
