/** The image roots as validateSpec sees them through its SpecContext: a refused path is named by its field. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainSpec, DomainType } from '../../../gen/hypervisor/v1/domain';
import { ImageRoots } from '../../../server/src/access';
import { validateSpec, type SpecContext } from '../../../server/src/domains/validate-spec';
import { ApiError } from '../../../server/src/errors';

let dir: string;
let ctx: SpecContext;
const kernelChecks: string[] = [];

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hv-roots-spec-')));
  fs.mkdirSync(path.join(dir, 'images'));
  fs.writeFileSync(path.join(dir, 'images/guest.elf'), 'k');
  fs.writeFileSync(path.join(dir, 'outside.elf'), 'k');
  const roots = new ImageRoots([path.join(dir, 'images')]);
  ctx = {
    limits: () => ({ available: true, unavailableReason: '', maxVcpus: 1, maxMemoryBytes: 1 << 30 }),
    checkKernel: async (boot) => {
      kernelChecks.push(boot.kernelPath);
      return undefined;
    },
    maxCmdlineBytes: 64,
    minMemoryBytes: 2 << 20,
    checkPath: (_field, file) => roots.check(file),
  };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (kernelPath: string, initrdPath = '') =>
  DomainSpec.fromPartial({
    name: 'vm1',
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: 32 << 20 },
    boot: { kernelPath, initrdPath },
  });

describe('validateSpec with image roots', () => {
  it('passes a kernel inside the roots on to the kernel check', async () => {
    await validateSpec(spec(path.join(dir, 'images/guest.elf')), ctx);
    expect(kernelChecks).toEqual([path.join(dir, 'images/guest.elf')]);
  });

  it('refuses kernel and initrd outside the roots by field, and never opens the kernel', async () => {
    kernelChecks.length = 0;
    const err = await validateSpec(spec(path.join(dir, 'outside.elf'), '/etc/passwd'), ctx).catch((e: unknown) => e as ApiError);
    expect(err).toBeInstanceOf(ApiError);
    const fields = (err as ApiError).fieldViolations.map((v) => v.field);
    expect(fields).toContain('spec.boot.kernel_path');
    expect(fields).toContain('spec.boot.initrd_path');
    expect((err as ApiError).fieldViolations.find((v) => v.field === 'spec.boot.kernel_path')!.description).toMatch(/outside the image roots/);
    expect(kernelChecks).toEqual([]);
  });
});
