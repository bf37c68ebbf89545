/**
 * Debian's real kernel boots to a busybox shell through hvd with DOMAIN_TYPE_KVM: the bzImage loader, the zero
 * page, the initrd and the 64-bit entry state, judged by the one thing a user cares about (a shell that answers).
 * It needs /dev/kvm (the emulated CPU cannot boot Linux, DESIGN.md) and apt for the kernel and busybox-static;
 * without either it is skipped with the reason printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unaryCall } from '../../../clients/hvctl/connect';
import { BootFormat, DomainSpec, DomainType, type Domain } from '../../../gen/hypervisor/v1/domain';
import { ConsoleSession } from '../../support/console-client';
import { fetchBusyboxStatic, fetchDebianVmlinuz } from '../../support/debian-package';
import { startHvd, type HvdUnderTest } from '../../support/hvd-process';
import { newcCpio } from '../../support/newc-cpio';

/** Printed by /init once the shell is about to start. */
const READY = 'HV-BUSYBOX-READY';
/** Time to reach the shell on KVM (a few seconds normally; generous for loaded CI hosts). */
const BOOT_TIMEOUT_MS = 120_000;

function kvmUnavailable(): string | undefined {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    return undefined;
  } catch (error) {
    return `/dev/kvm cannot be opened (${(error as NodeJS.ErrnoException).code}): booting Linux needs KVM`;
  }
}

let skip: string | undefined;
let hvd: HvdUnderTest | undefined;
let dir = '';
let vmlinuz = '';
let initrd = '';

beforeAll(async () => {
  skip = kvmUnavailable();
  if (!skip) {
    const [kernel, busybox] = await Promise.all([fetchDebianVmlinuz(), fetchBusyboxStatic()]);
    if ('skip' in kernel) skip = kernel.skip;
    else if ('skip' in busybox) skip = busybox.skip;
    else {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-busybox-'));
      vmlinuz = kernel.path;
      initrd = path.join(dir, 'initramfs.cpio');
      const init = `#!/bin/busybox sh\n/bin/busybox --install -s /bin\nmount -t proc proc /proc\necho ${READY}\nexec setsid cttyhack sh\n`;
      fs.writeFileSync(
        initrd,
        newcCpio([
          { kind: 'dir', name: 'bin' },
          { kind: 'dir', name: 'dev' },
          { kind: 'dir', name: 'proc' },
          { kind: 'file', name: 'bin/busybox', data: fs.readFileSync(busybox.path), mode: 0o755 },
          { kind: 'file', name: 'init', data: Buffer.from(init), mode: 0o755 },
        ]),
      );
      hvd = await startHvd();
    }
  }
  if (skip) console.warn(`skipping the KVM Linux boot test: ${skip}`);
}, 330_000);
afterAll(async () => {
  await hvd?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("Debian's vmlinuz on KVM", () => {
  it('boots with a busybox initramfs to a shell that runs commands', async (ctx) => {
    if (skip || !hvd) return ctx.skip(skip ?? 'hvd did not start');
    const domains = hvd.clients.domains;
    const spec = DomainSpec.fromPartial({
      name: `busybox-${process.pid}`,
      type: DomainType.DOMAIN_TYPE_KVM,
      vcpus: { current: 1 },
      memory: { currentBytes: 256 << 20 },
      boot: { kernelPath: vmlinuz, initrdPath: initrd, format: BootFormat.BOOT_FORMAT_LINUX, cmdline: 'console=ttyS0 rdinit=/init panic=-1 quiet' },
    });
    const created = await unaryCall(domains.createDomain.bind(domains), { spec, paused: true, requestId: '' });
    const domain = created.domain as Domain;
    const console = new ConsoleSession(domains, { domain: domain.id, input: true });
    await unaryCall(domains.resumeDomain.bind(domains), { domain: domain.id, requestId: '' });
    await console.waitFor(new RegExp(READY), BOOT_TIMEOUT_MS);
    console.send('echo sum=$((6 * 7)); uname -m\n');
    await console.waitFor(/sum=42/, 30_000);
    await console.waitFor(/x86_64/, 30_000);
    expect(console.output).toContain('Linux version');
    console.cancel();
    await unaryCall(domains.destroyDomain.bind(domains), { domain: domain.id, requestId: '' });
  }, BOOT_TIMEOUT_MS + 60_000);
});
