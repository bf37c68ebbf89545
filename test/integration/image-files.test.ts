/**
 * Images reach the engine as file descriptors hvd opened and checked at start time, never as paths the engine
 * opens (the request-time check could be raced): a real hvd confined to an image root, real engines, real files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { readLaunch, runDirFor } from '../../engine/src/control/run-dir';
import { DomainState, DomainStateReason, type DeviceSpec } from '../../gen/hypervisor/v1/domain';
import { createKnownDisk, expectedSectorLines } from '../guests/virtio-disk-image';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { startHvd, type HvdUnderTest } from '../support/hvd-process';

const guests = inject('guests');
let hvd: HvdUnderTest;
let images: string;
let outside: string;

beforeAll(async () => {
  images = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-img-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-out-'));
  hvd = await startHvd(undefined, ['--image-root', images]);
});
afterAll(async () => {
  await hvd?.stop();
  for (const dir of [images, outside]) fs.rmSync(dir, { recursive: true, force: true });
});

const d = () => hvd.clients.domains;
const { create, define, start, destroy, undefine, boot } = domainCalls(d);
let seq = 0;
/** A copy of the test guest and of a known disk inside the image root. */
function imagesInRoot(): { kernel: string; disk: string } {
  const dir = fs.mkdtempSync(path.join(images, `set${++seq}-`));
  const kernel = path.join(dir, 'guest.elf');
  const disk = path.join(dir, 'disk.img');
  fs.copyFileSync(guests.pvh, kernel);
  fs.copyFileSync(createKnownDisk(16), disk);
  return { kernel, disk };
}
const diskDevice = (file: string): DeviceSpec => ({ id: '', kind: { $case: 'disk', value: { path: file, readOnly: false, serial: '' } } });

describe('images as file descriptors', () => {
  it("the engine serves the kernel and disk hvd opened: its launch file names fds, /proc shows them open", async () => {
    const { kernel, disk } = imagesInRoot();
    const domain = await create(guestSpec(kernel, 'action=hlt', { devices: [diskDevice(disk)] }));
    const pid = domain.status!.enginePid;
    const launch = readLaunch(runDirFor(hvd.runDir, domain.id));
    expect(launch.files).toEqual({ kernel: 3, disks: { disk0: 4 } });
    expect(fs.readlinkSync(`/proc/${pid}/fd/${launch.files!.kernel}`)).toBe(kernel);
    expect(fs.readlinkSync(`/proc/${pid}/fd/${launch.files!.disks.disk0}`)).toBe(disk);
    // Nothing else in the engine has the image files open: it opened no path of its own.
    const open = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => ({ fd: Number(fd), target: fs.readlinkSync(`/proc/${pid}/fd/${fd}`) }));
    expect(open.filter((f) => f.target === kernel || f.target === disk).map((f) => f.fd).sort()).toEqual([3, 4]);
    await destroy(domain.id);
  });

  it('a kernel renamed after the start is still there for a reset, which reloads it from the fd', async () => {
    const { kernel, disk } = imagesInRoot();
    const halted = await create(guestSpec(kernel, 'action=hlt', { devices: [diskDevice(disk)] }));
    const watch = new ConsoleSession(d(), { domain: halted.id });
    await watch.waitFor(/halting/);
    fs.renameSync(kernel, `${kernel}.moved`);
    const reset = (await unaryCall(d().resetDomain.bind(d()), { domain: halted.id, requestId: '' })).domain!;
    expect(reset.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(reset.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_RESET);
    await watch.waitFor(/halting[\s\S]*hv-guest: ready[\s\S]*halting/);
    await destroy(halted.id);
  });

  it('the guest reads the disk hvd opened', async () => {
    const { kernel, disk } = imagesInRoot();
    const { console } = await boot(guestSpec(kernel, 'action=virtio-blk blk-read=2', { devices: [diskDevice(disk)] }));
    await console.ended;
    for (const line of expectedSectorLines(2)) expect(console.output).toContain(line);
  });

  it('StartDomain checks what it opens: a disk swapped for a symlink out of the image root is refused, naming the field', async () => {
    const { kernel, disk } = imagesInRoot();
    const defined = await define(guestSpec(kernel, 'action=hlt', { devices: [diskDevice(disk)] }));
    const secret = path.join(outside, 'secret.img');
    fs.writeFileSync(secret, Buffer.alloc(8192, 0x55));
    fs.rmSync(disk);
    fs.symlinkSync(secret, disk);
    const err = await rejection(start(defined.id));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/spec\.devices\[0\]\.disk\.path: .*resolves to ".*secret\.img", which is outside the image roots/);
    expect(hvd.enginePids()).toEqual([]);
    // The file put back, the same definition starts.
    fs.rmSync(disk);
    fs.copyFileSync(createKnownDisk(16), disk);
    expect((await start(defined.id)).status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    await destroy(defined.id);
    await undefine(defined.id);
  });
});
