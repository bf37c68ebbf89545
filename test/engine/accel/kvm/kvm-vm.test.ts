/**
 * The VM picks its accelerator by the spec's domain type. The test guest (test/guests) boots through the PVH entry
 * and powers off by ACPI S5, or leaves through the debug-exit port: on EMULATED here, and on KVM where /dev/kvm
 * opens (skipped with the reason elsewhere), with the same console output and the same final state.
 */
import pino from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { DomainSpec, DomainState, DomainType, type DomainStatus } from '../../../../gen/hypervisor/v1/domain';
import { Vm } from '../../../../engine/src/vm/vm';
import { kvmUnavailableReason } from './kvm-available';

const guests = inject('guests');
const kvmSkipReason = kvmUnavailableReason();
if (kvmSkipReason) console.log(`KVM VM tests skipped: ${kvmSkipReason}`);

async function boot(type: DomainType, cmdline: string): Promise<{ status: DomainStatus; console: string }> {
  const spec = DomainSpec.fromPartial({
    name: 'kvm-vm-test',
    type,
    vcpus: { current: 1, max: 1 },
    memory: { currentBytes: 64 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 },
    boot: { kernelPath: guests.pvh, cmdline },
    platform: { debugExit: true },
  });
  const vm = await Vm.create({ domainId: 'kvm-vm-test', spec, logger: pino({ level: 'silent' }) });
  const chunks: Buffer[] = [];
  vm.console.attach({ send: (b) => chunks.push(Buffer.from(b)), revokeInput: () => {}, close: () => {} }, { skipScrollback: false, input: false, force: false });
  const stopped = new Promise<DomainStatus>((resolve) => vm.once('stopped', (stop) => resolve(stop.status!)));
  vm.resume();
  const status = await stopped;
  return { status, console: Buffer.concat(chunks).toString('latin1') };
}

const types = [
  { name: 'EMULATED', type: DomainType.DOMAIN_TYPE_EMULATED, skip: undefined },
  { name: 'KVM', type: DomainType.DOMAIN_TYPE_KVM, skip: kvmSkipReason },
];

describe.each(types)('a $name domain', ({ type, skip }) => {
  it.skipIf(skip !== undefined)('boots the PVH test guest and powers off by ACPI S5', async () => {
    const { status, console: out } = await boot(type, 'action=poweroff');
    expect(out).toContain('hv-guest: ready');
    expect(out).toContain('hv-guest: start_info=0x6000 version=1');
    expect(out).toContain('hv-guest: cmdline=action=poweroff');
    expect(out).toContain('hv-guest: powering off');
    expect(status.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  });

  it.skipIf(skip !== undefined)('reports the debug-exit status the guest wrote', async () => {
    const { status } = await boot(type, 'action=exit:5');
    expect(status.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(status.guestExitStatus).toBe((5 << 1) | 1); // isa-debug-exit's status, as QEMU reports it
  });
});
