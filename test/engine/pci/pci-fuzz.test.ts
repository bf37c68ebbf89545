/**
 * A hostile guest against PCI configuration (issue 3 point 7): random values to every register of every slot
 * through both CF8/CFC and ECAM, BARs programmed to overlapping and absurd addresses, random CONFIG_ADDRESS
 * values and access widths. Nothing may throw out of a bus device, and the platform must still work after.
 */
import { describe, expect, it } from 'vitest';
import { PCI_ECAM_START } from '../../../engine/src/platform/layout';
import { CountingMsiSink, HOST_BRIDGE_VENDOR_ID } from '../../../engine/src/pci';
import { VirtioRng } from '../../../engine/src/virtio/rng';
import { VirtioPciTransport } from '../../../engine/src/virtio/transport';
import { GuestMemoryMap, GuestRam } from '../../../engine/src/memory';
import { cf8, pciPlatform } from './pci-harness';

/** Deterministic PRNG (mulberry32), so a failure replays with the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

const SIZES = [1, 2, 4] as const;
/** Values a hostile guest likes: all-ones, zero, addresses in and around the windows, random words. */
const INTERESTING = [0, 0xffff_ffff, 0xc000_0000, 0xdfff_f000, 0xe000_0000, 0xfec0_0000, 0x3f8, 0xcf8, 0x8000_0000, 0x1];

function hostileRun(seed: number, accesses: number): void {
  const { pio, mmio, root } = pciPlatform();
  const ram = new GuestRam(0, 1 << 20);
  const memory = new GuestMemoryMap([ram]);
  // Real device models behind the transports: random queue set-ups and notifies reach real split queues.
  for (let i = 0; i < 2; i++) root.attach(new VirtioPciTransport({ device: new VirtioRng(), memory, msiSink: new CountingMsiSink() }));
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const value = () => (random() < 0.3 ? pick(INTERESTING) : Math.floor(random() * 0x1_0000_0000));
  for (let i = 0; i < accesses; i++) {
    const size = pick(SIZES);
    const slot = random() < 0.8 ? Math.floor(random() * 3) : Math.floor(random() * 32);
    const register = Math.floor(random() * 256);
    const write = random() < 0.7;
    switch (Math.floor(random() * 4)) {
      case 0: // CONFIG_ADDRESS then data through 0xCFC + n
        pio.write(0xcf8, 4, random() < 0.9 ? (0x8000_0000 | (slot << 11) | (register & 0xfc)) >>> 0 : value());
        if (write) pio.write(0xcfc + (register & 3), size, value());
        else pio.read(0xcfc + (register & 3), size);
        break;
      case 1: // any access anywhere in 0xCF8..0xCFF
        if (write) pio.write(0xcf8 + Math.floor(random() * 8), size, value());
        else pio.read(0xcf8 + Math.floor(random() * 8), size);
        break;
      case 2: {
        const offset = PCI_ECAM_START + (slot << 15) + Math.floor(random() * 0x1000);
        if (write) mmio.write(offset, size, value());
        else mmio.read(offset, size);
        break;
      }
      default: {
        // Poke whatever the BARs decode to now (virtio registers, MSI-X table).
        const entries = mmio.entries().filter((e) => e.name.includes('bar'));
        if (entries.length === 0) break;
        const entry = pick(entries);
        const at = entry.base + Math.floor(random() * entry.length);
        if (write) mmio.write(at, size, value());
        else mmio.read(at, size);
      }
    }
  }
  // Still a working platform: enumeration answers, and the host bridge is where it was.
  expect(cf8(pio).read(0, 0) & 0xffff).toBe(HOST_BRIDGE_VENDOR_ID);
  expect(root.functions()).toHaveLength(3);
}

describe('hostile guest against PCI configuration', () => {
  it('survives 200 000 random accesses with a fixed seed', () => {
    expect(() => hostileRun(0x5eed, 200_000)).not.toThrow();
  });

  it('survives a bounded run with a fresh seed (printed for replay)', () => {
    const seed = Math.floor(Math.random() * 0x1_0000_0000);
    console.log(`pci fuzz seed ${seed}`);
    expect(() => hostileRun(seed, 50_000)).not.toThrow();
  });
});
