/**
 * Queue-notify doorbells (KVM ioeventfds): the transport registers one per queue at its notify address where the BAR
 * decodes, moves them when the guest moves the BAR and removes them when decode is off; ringing the eventfd (as KVM
 * does for a guest write it took in the kernel) notifies the queue on the loop thread. The eventfds are real; the VM
 * fd records KVM_IOEVENTFD calls, which need /dev/kvm (absent here).
 */
import { describe, expect, it } from 'vitest';
import { KVM_IOEVENTFD_FLAG_DEASSIGN } from '../../../../engine/src/accel/kvm/kvm-abi';
import { KvmDoorbells } from '../../../../engine/src/accel/kvm/kvm-doorbells';
import { GuestMemoryMap, GuestRam } from '../../../../engine/src/memory';
import { native } from '../../../../engine/src/native';
import type { NativeEventFd } from '../../../../engine/src/native/addon';
import { CountingMsiSink, PCI_BAR0, PCI_COMMAND } from '../../../../engine/src/pci';
import { VirtioRng } from '../../../../engine/src/virtio/rng';
import { VirtioPciTransport } from '../../../../engine/src/virtio/transport';
import { NOTIFY_CFG_OFFSET } from '../../../../engine/src/virtio/transport/virtio-pci-layout';
import { cf8, pciPlatform } from '../../pci/pci-harness';

function setUp() {
  const platform = pciPlatform();
  /** gpa → eventfd of the ioeventfds assigned now, as KVM holds them. */
  const assigned = new Map<number, NativeEventFd>();
  const fds = new Map<number, NativeEventFd>();
  const vm = {
    ioeventfd: (fd: number, gpa: number, size: number, flags: number) => {
      expect(size).toBe(2);
      if (flags & KVM_IOEVENTFD_FLAG_DEASSIGN) assigned.delete(gpa);
      else assigned.set(gpa, fds.get(fd)!);
    },
  };
  const doorbells = new KvmDoorbells(vm, () => {
    const e = new native.EventFd();
    fds.set(e.fd, e);
    return e;
  });
  const notified: number[] = [];
  const memory = new GuestMemoryMap([new GuestRam(0, 1 << 20)]);
  const transport = new VirtioPciTransport({ device: new VirtioRng({}), memory, msiSink: new CountingMsiSink(), doorbells, logger: platform.logger, onQueueNotify: (q) => notified.push(q) });
  const { device: slot } = platform.root.attach(transport);
  const cfg = cf8(platform.pio);
  const bar = () => ((cfg.read(slot, PCI_BAR0) & ~0xf) >>> 0) + cfg.read(slot, PCI_BAR0 + 4) * 2 ** 32;
  return { platform, assigned, doorbells, notified, cfg, slot, bar };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('queue-notify doorbells', () => {
  it('registers one per queue at the notify address where the BAR decodes', () => {
    const t = setUp();
    expect([...t.assigned.keys()]).toEqual([t.bar() + NOTIFY_CFG_OFFSET]); // virtio-rng: one queue
  });

  it('a ring (KVM writing the eventfd) notifies the queue on the loop thread, without an MMIO exit', async () => {
    const t = setUp();
    t.assigned.get(t.bar() + NOTIFY_CFG_OFFSET)!.write(1);
    expect(t.notified).toEqual([]); // nothing happens inside the write: the loop thread picks it up
    await turn();
    expect(t.notified).toEqual([0]);
    t.assigned.get(t.bar() + NOTIFY_CFG_OFFSET)!.write(3); // three writes before the loop looked: one notify
    await turn();
    expect(t.notified).toEqual([0, 0]);
  });

  it('moves with the BAR and goes away while memory decode is off', async () => {
    const t = setUp();
    const before = t.bar();
    const moved = before + 0x10_0000;
    t.cfg.write(t.slot, PCI_BAR0, 4, (moved & 0xffff_ffff) | 0x4);
    expect(t.bar()).toBe(moved);
    expect([...t.assigned.keys()]).toEqual([moved + NOTIFY_CFG_OFFSET]);
    const command = t.cfg.read(t.slot, PCI_COMMAND, 2);
    t.cfg.write(t.slot, PCI_COMMAND, 2, command & ~0x2);
    expect(t.assigned.size).toBe(0);
    t.cfg.write(t.slot, PCI_COMMAND, 2, command);
    expect([...t.assigned.keys()]).toEqual([moved + NOTIFY_CFG_OFFSET]);
  });

  it('close() removes every doorbell', () => {
    const t = setUp();
    t.doorbells.close();
    expect(t.assigned.size).toBe(0);
  });
});
