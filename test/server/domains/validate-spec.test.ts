import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../server/src/errors';
import { validateSpec, type SpecContext } from '../../../server/src/domains/validate-spec';
import { BootFormat, DomainSpec, DomainType, LifecycleAction } from '../../../gen/hypervisor/v1/domain';

const GiB = 1 << 30;
const ctx: SpecContext = {
  limits: (type) =>
    type === DomainType.DOMAIN_TYPE_EMULATED
      ? { available: true, unavailableReason: '', maxVcpus: 1, maxMemoryBytes: 8 * GiB }
      : { available: false, unavailableReason: '/dev/kvm: ENOENT', maxVcpus: 0, maxMemoryBytes: 8 * GiB },
  checkKernel: async (boot) => (boot.kernelPath === '/bad' ? 'no PVH note' : undefined),
  maxCmdlineBytes: 16,
  minMemoryBytes: 2 << 20,
};

const good = (): DomainSpec =>
  DomainSpec.fromPartial({
    name: 'vm1',
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: 64 << 20 },
    boot: { kernelPath: '/guest.elf', cmdline: 'x' },
  });

async function violations(spec: DomainSpec): Promise<Record<string, string>> {
  try {
    await validateSpec(spec, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return Object.fromEntries((err as ApiError).fieldViolations.map((v) => [v.field, v.description]));
  }
  throw new Error('expected the spec to be rejected');
}

describe('validateSpec', async () => {
  it('normalises a good spec: assigns a lowercase uuid and defaults the maxima', async () => {
    const spec = await validateSpec(good(), ctx);
    expect(spec.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(spec.vcpus).toEqual({ current: 1, max: 1 });
    expect(spec.memory).toEqual({ currentBytes: 64 << 20, maxBytes: 64 << 20 });
  });

  it('names every bad field at once', async () => {
    const spec = good();
    spec.name = '';
    spec.memory = { currentBytes: 0, maxBytes: 0 };
    spec.vcpus = { current: 0, max: 0 };
    expect(Object.keys((await violations(spec))).sort()).toEqual(['spec.memory.current_bytes', 'spec.name', 'spec.vcpus.current']);
  });

  it('rejects what can never fit this host with the limit in the message', async () => {
    const spec = good();
    spec.vcpus = { current: 2, max: 0 };
    spec.memory = { currentBytes: 16 * GiB, maxBytes: 0 };
    const bad = await violations(spec);
    expect(bad['spec.vcpus.current']).toMatch(/maximum of 1/);
    expect(bad['spec.memory.current_bytes']).toMatch(/exceeds/);
  });

  it('rejects an unavailable domain type with the reason', async () => {
    const spec = good();
    spec.type = DomainType.DOMAIN_TYPE_KVM;
    expect((await violations(spec))['spec.type']).toMatch(/not available.*\/dev\/kvm/);
    spec.type = DomainType.DOMAIN_TYPE_UNSPECIFIED;
    expect((await violations(spec))['spec.type']).toMatch(/required/);
  });

  it('passes kernel problems through on boot.kernel_path', async () => {
    const spec = good();
    spec.boot!.kernelPath = '/bad';
    expect((await violations(spec))['spec.boot.kernel_path']).toBe('no PVH note');
  });

  it('checks uuid, memory alignment, cmdline length and raw-only addresses', async () => {
    const spec = good();
    spec.uuid = 'not-a-uuid';
    spec.memory = { currentBytes: (64 << 20) + 1, maxBytes: 0 };
    spec.boot!.cmdline = 'x'.repeat(17);
    spec.boot!.loadAddress = 0x100000;
    const bad = await violations(spec);
    expect(bad['spec.uuid']).toMatch(/not a UUID/);
    expect(bad['spec.memory.current_bytes']).toMatch(/multiple of 4096/);
    expect(bad['spec.boot.cmdline']).toMatch(/longer than 16/);
    expect(bad['spec.boot.load_address']).toMatch(/BOOT_FORMAT_RAW/);
    spec.memory = { currentBytes: 1 << 20, maxBytes: 0 };
    expect((await violations(spec))['spec.memory.current_bytes']).toMatch(/at least 2097152/);
    const raw = good();
    raw.boot!.format = BootFormat.BOOT_FORMAT_RAW;
    raw.boot!.loadAddress = 0x100000;
    await expect(validateSpec(raw, ctx)).resolves.toBeDefined();
  });

  it('refuses a nic on a missing tap, naming the field', async () => {
    const spec = good();
    spec.devices = [{ id: '', kind: { $case: 'nic', value: { tap: 'hv-no-such-tap', mac: '' } } }];
    const bad = await violations(spec);
    expect(bad['spec.devices[0].nic.tap']).toMatch(/does not exist on this host/);
  });

  it('takes every lifecycle action, PRESERVE included, and refuses an unknown one naming the field', async () => {
    const spec = good();
    spec.lifecycle = { onPoweroff: LifecycleAction.LIFECYCLE_ACTION_PRESERVE, onReboot: LifecycleAction.LIFECYCLE_ACTION_PRESERVE, onCrash: LifecycleAction.LIFECYCLE_ACTION_PRESERVE };
    await expect(validateSpec(spec, ctx)).resolves.toBeDefined();
    spec.lifecycle = { onPoweroff: 0, onReboot: 0, onCrash: 99 as LifecycleAction };
    expect((await violations(spec))['spec.lifecycle.on_crash']).toMatch(/unknown action/);
  });
});
