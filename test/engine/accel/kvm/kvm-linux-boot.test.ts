/**
 * Debian's kernel (linux-image-amd64) boots on a KVM domain through the 64-bit boot protocol with a busybox-static
 * initramfs, reaches a shell that evaluates arithmetic, and powers the domain off by ACPI S5. Runs where /dev/kvm
 * opens and apt can fetch both packages; skipped with the reason elsewhere.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainSpec, DomainState, DomainType, type DomainStatus } from '../../../../gen/hypervisor/v1/domain';
import { Vm } from '../../../../engine/src/vm/vm';
import { fetchBusyboxStatic, fetchDebianVmlinuz } from '../../../support/debian-package';
import { buildCpio, S_IFCHR, S_IFDIR, S_IFREG } from './initramfs';
import { kvmUnavailableReason } from './kvm-available';

/** The shell prints this with $((6*7)) evaluated: proof a real userspace shell ran. */
const READY = 'hv-linux-shell-ready';
/** /dev/console: character device 5:1. */
const CONSOLE_MAJOR = 5;
const CONSOLE_MINOR = 1;

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
echo ${READY} $((6*7))
/bin/busybox poweroff -f
`;

let skip = kvmUnavailableReason();
let kernel = '';
let initrd = '';

beforeAll(async () => {
  if (skip) return;
  const vmlinuz = await fetchDebianVmlinuz();
  const busybox = await fetchBusyboxStatic();
  if ('skip' in vmlinuz) skip = vmlinuz.skip;
  else if ('skip' in busybox) skip = busybox.skip;
  if (skip || 'skip' in vmlinuz || 'skip' in busybox) return;
  kernel = vmlinuz.path;
  initrd = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hv-initramfs-')), 'initramfs.cpio');
  fs.writeFileSync(
    initrd,
    buildCpio([
      { name: 'bin', mode: S_IFDIR | 0o755 },
      { name: 'bin/busybox', mode: S_IFREG | 0o755, data: fs.readFileSync(busybox.path) },
      { name: 'dev', mode: S_IFDIR | 0o755 },
      { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: CONSOLE_MAJOR, rdevMinor: CONSOLE_MINOR },
      { name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT) },
    ]),
  );
}, 600_000);

describe('Debian Linux on a KVM domain', () => {
  it('boots to a busybox shell and powers off', async (context) => {
    if (skip) {
      console.log(`skipped: ${skip}`);
      context.skip();
      return;
    }
    const spec = DomainSpec.fromPartial({
      name: 'kvm-linux',
      type: DomainType.DOMAIN_TYPE_KVM,
      vcpus: { current: 1, max: 1 },
      memory: { currentBytes: 256 * 1024 * 1024, maxBytes: 256 * 1024 * 1024 },
      boot: { kernelPath: kernel, initrdPath: initrd, cmdline: 'console=ttyS0 panic=-1 rdinit=/init' },
    });
    const vm = await Vm.create({ domainId: 'kvm-linux', spec, logger: pino({ level: 'silent' }) });
    const chunks: Buffer[] = [];
    vm.console.attach({ send: (b) => chunks.push(Buffer.from(b)), revokeInput: () => {}, close: () => {} }, { skipScrollback: false, input: false, force: false });
    const stopped = new Promise<DomainStatus>((resolve) => vm.once('stopped', (stop) => resolve(stop.status!)));
    vm.resume();
    const status = await stopped;
    const out = Buffer.concat(chunks).toString('latin1');
    expect(out).toContain('Linux version');
    expect(out).toContain(`${READY} 42`);
    expect(status.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  }, 120_000);
});
