/**
 * The boot-state proof for the Linux 64-bit entry. The emulated CPU cannot boot Linux itself (DESIGN.md), so a
 * tiny 64-bit program made into a minimal valid bzImage (test/guests/linux64) goes through exactly what a kernel
 * goes through: a real hvd, CreateDomain with BOOT_FORMAT_LINUX, the engine's bzImage loader, setupLinuxBoot's
 * zero page, page tables and long-mode entry state applied to the vCPU. The program checks that state from the
 * inside and prints it on COM1; the test compares what it saw with the boot.rst rules and the platform map.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../../clients/hvctl/connect';
import { BootFormat, DomainSpec, DomainState, DomainType, type Domain } from '../../../gen/hypervisor/v1/domain';
import { memoryMap } from '../../../engine/src/boot/memory-map';
import { fieldViolationsOf } from '../../../server/src/errors';
import { buildLinux64Guest } from '../../guests/linux64/build';
import { ConsoleSession } from '../../support/console-client';
import { startHvd, type HvdUnderTest } from '../../support/hvd-process';

const MEMORY = 64 << 20;
let hvd: HvdUnderTest;
let dir: string;
let bzImage: string;
let seq = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-linux64-'));
  bzImage = await buildLinux64Guest(dir);
  hvd = await startHvd();
}, 60_000);
afterAll(async () => {
  await hvd?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function spec(boot: Partial<NonNullable<DomainSpec['boot']>>, memoryBytes = MEMORY): DomainSpec {
  return DomainSpec.fromPartial({
    name: `linux64-${++seq}-${process.pid}`,
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: memoryBytes },
    boot: { kernelPath: bzImage, format: BootFormat.BOOT_FORMAT_LINUX, ...boot },
  });
}

async function run(s: DomainSpec): Promise<{ output: string; state: DomainState | undefined }> {
  const domains = hvd.clients.domains;
  const created = await unaryCall(domains.createDomain.bind(domains), { spec: s, paused: true, requestId: '' });
  const domain = created.domain as Domain;
  const console = new ConsoleSession(domains, { domain: domain.id });
  await unaryCall(domains.resumeDomain.bind(domains), { domain: domain.id, requestId: '' });
  const ended = await console.ended;
  return { output: console.output, state: ended.closed?.state };
}

function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

const hex = (value: number) => `0x${value.toString(16)}`;

describe('the 64-bit Linux entry, proven by a bzImage-shaped guest through hvd', () => {
  it('enters in long mode at pref_address + 0x200 with %rsi at a zero page holding the cmdline, e820 and initrd', async () => {
    const initrd = Uint8Array.from({ length: 300_001 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
    const initrdPath = path.join(dir, 'initrd.img');
    fs.writeFileSync(initrdPath, initrd);
    const { output, state } = await run(spec({ cmdline: 'console=ttyS0 hello=linux64', initrdPath }));

    const image = fs.readFileSync(bzImage);
    const pref = Number(image.readBigUInt64LE(0x258));
    expect(output).toContain('hv-linux64: entered');
    expect(output).toContain(`hv-linux64: entry rip=${hex(pref + 0x200)} expected=${hex(pref + 0x200)} cs=0x8`);
    expect(output).toMatch(/hv-linux64: cr0=0x[0-9a-f]+ cr4=0x[0-9a-f]+ efer=0x[0-9a-f]*5[0-9a-f]{2}\b/);
    expect(output).toContain('hv-linux64: zero_page=0x8000 boot_flag=0xaa55 loader=0xff');
    expect(output).toContain('hv-linux64: cmdline=console=ttyS0 hello=linux64\n');
    // The e820 table the guest walked is the platform memory map, entry for entry.
    const map = memoryMap(MEMORY);
    for (const entry of map) {
      expect(output).toContain(`hv-linux64: e820 addr=${hex(entry.addr)} size=${hex(entry.size)} type=${entry.type}\n`);
    }
    const ram = map.filter((e) => e.type === 1).reduce((sum, e) => sum + e.size, 0);
    expect(output).toContain(`hv-linux64: e820 entries=${map.length} ram=${ram}\n`);
    // The initrd: page aligned at the top of RAM (initrd_addr_max is 2 GiB here), its bytes intact.
    const initrdAt = Math.floor((MEMORY - initrd.length) / 4096) * 4096;
    expect(output).toContain(`hv-linux64: initrd addr=${hex(initrdAt)} size=${initrd.length} fnv1a=${hex(fnv1a(initrd))}\n`);
    expect(output).toContain(`hv-linux64: ram top=${hex(MEMORY)} mapped`);
    expect(output).not.toContain('FAIL');
    expect(output).toContain('hv-linux64: ok');
    expect(state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  });

  it('boots the same image auto-detected, without an initrd', async () => {
    const { output, state } = await run(spec({ format: BootFormat.BOOT_FORMAT_UNSPECIFIED, cmdline: 'auto' }, 32 << 20));
    expect(output).toContain('hv-linux64: cmdline=auto\n');
    expect(output).toContain('hv-linux64: initrd none');
    expect(output).toContain(`hv-linux64: ram top=${hex(32 << 20)} mapped`);
    expect(output).toContain('hv-linux64: ok');
    expect(state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  });

  it('refuses before any engine starts: an initrd that is missing, a directory or too big, and a non-bzImage with LINUX', async () => {
    const domains = hvd.clients.domains;
    const violations = async (s: DomainSpec) => {
      try {
        await unaryCall(domains.createDomain.bind(domains), { spec: s, paused: true, requestId: '' });
      } catch (error) {
        expect((error as ServiceError).code).toBe(status.INVALID_ARGUMENT);
        return Object.fromEntries(fieldViolationsOf(error as ServiceError).map((v) => [v.field, v.description]));
      }
      throw new Error('expected INVALID_ARGUMENT');
    };
    expect((await violations(spec({ initrdPath: path.join(dir, 'missing.img') })))['spec.boot.initrd_path']).toMatch(/missing\.img/);
    expect((await violations(spec({ initrdPath: dir })))['spec.boot.initrd_path']).toMatch(/is not a regular file/);
    const big = path.join(dir, 'big.img');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 48 << 20); // 64 MiB of RAM less the 17 MiB the kernel may use up to its init_size end
    expect((await violations(spec({ initrdPath: big })))['spec.boot.initrd_path']).toMatch(/does not fit between the kernel's init_size end/);
    const elf = process.execPath;
    expect((await violations(spec({ kernelPath: elf })))['spec.boot.kernel_path']).toMatch(/not a Linux bzImage/);
    // A PVH kernel takes no initrd: the field at fault is named.
    const pvh = inject('guests').pvh;
    const pvhSpec = spec({ kernelPath: pvh, format: BootFormat.BOOT_FORMAT_PVH, initrdPath: path.join(dir, 'initrd.img') });
    expect((await violations(pvhSpec))['spec.boot.initrd_path']).toMatch(/only a Linux bzImage/);
    expect(hvd.enginePids()).toEqual([]);
  });
});
