/**
 * PCI and virtio devices end to end, as a user runs them: a real hvd, CreateDomain with disk and rng devices,
 * the engine putting each behind a virtio-pci transport on PCI bus 0, and the test guest's polling drivers
 * (the same ones proven against QEMU in test/guests/guest-under-qemu.test.ts) reading and writing them.
 */
import { readFileSync } from 'node:fs';
import { status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { DomainSpec, DomainState, DomainType, type DeviceSpec, type Domain } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { PCI_ECAM_START } from '../../engine/src/platform/layout';
import { createKnownDisk, expectedSectorLines, knownSector, SECTOR_SIZE, writePattern } from '../guests/virtio-disk-image';
import { ConsoleSession } from '../support/console-client';
import { hvdPerFile } from '../support/hvd-process';

const guests = inject('guests');
const hvd = hvdPerFile();
let seq = 0;

const disk = (path: string, readOnly = false, serial = ''): DeviceSpec => ({ id: '', kind: { $case: 'disk', value: { path, readOnly, serial } } });
const rng = (): DeviceSpec => ({ id: '', kind: { $case: 'rng', value: {} } });

function spec(cmdline: string, devices: DeviceSpec[]): DomainSpec {
  return DomainSpec.fromPartial({
    name: `virtio${++seq}-${process.pid}`,
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: 32 << 20 },
    boot: { kernelPath: guests.pvh, cmdline },
    devices,
  });
}

const domains = () => hvd().clients.domains;

/** Creates paused, attaches the console, resumes, and waits for the guest to power off; returns its lines. */
async function run(s: DomainSpec): Promise<{ domain: Domain; lines: string[]; output: string }> {
  const { domain } = await unaryCall(domains().createDomain.bind(domains()), { spec: s, paused: true, requestId: '' });
  const console = new ConsoleSession(domains(), { domain: domain!.id });
  await unaryCall(domains().resumeDomain.bind(domains()), { domain: domain!.id, requestId: '' });
  const ended = await console.ended;
  expect(ended.closed?.state, console.output).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  return { domain: domain!, output: console.output, lines: console.output.split('\n').map((l) => l.replace(/\r$/, '')) };
}

describe('virtio devices on PCI', () => {
  it('lists the host bridge and one virtio function per device, in the order the spec gives them', async () => {
    const { lines, output, domain } = await run(spec('action=pci', [disk(createKnownDisk(8)), rng()]));
    const functions = lines.filter((l) => l.startsWith('hv-guest: pci 00:'));
    expect(functions, output).toEqual([
      'hv-guest: pci 00:00.0 vendor=8086 device=0d57 class=060000',
      'hv-guest: pci 00:01.0 vendor=1af4 device=1042 class=010000',
      'hv-guest: pci 00:02.0 vendor=1af4 device=1044 class=00ff00',
    ]);
    expect(lines).toContain('hv-guest: pci functions=3');
    expect(domain.spec!.devices.map((d) => d.id)).toEqual(['disk0', 'rng0']);
  });

  it('virtio-rng gives the guest bytes that are not constant', async () => {
    const { lines, output } = await run(spec('action=virtio-rng:64', [rng()]));
    expect(lines.find((l) => l.startsWith('hv-guest: virtio-rng bytes=')), output).toMatch(/^hv-guest: virtio-rng bytes=64 hex=[0-9a-f]{128}$/);
    expect(lines).toContain('hv-guest: virtio-rng all-equal=no');
  });

  it('virtio-blk serves known sectors, GET_ID, and a flushed write the host file shows', async () => {
    const image = createKnownDisk(64);
    const { lines, output } = await run(spec('action=virtio-blk blk-read=4 blk-write=9 blk-loop=200', [disk(image, false, 'hv-serial-7')]));
    expect(lines, output).toContain('hv-guest: virtio-blk found 00:01.0');
    expect(lines).toContain('hv-guest: virtio-blk capacity=64 ro=0 flush=1');
    expect(lines).toContain('hv-guest: virtio-blk serial=hv-serial-7');
    for (const line of expectedSectorLines(4)) expect(lines).toContain(line);
    expect(lines).toContain('hv-guest: virtio-blk write sector=9 status=0 flush=0 read=0 readback=match');
    expect(lines).toContain('hv-guest: virtio-blk loop done n=200 errors=0'); // 200 requests in a row, wrapping at 64 sectors
    const file = readFileSync(image);
    expect(Buffer.from(file.subarray(9 * SECTOR_SIZE, 10 * SECTOR_SIZE)).equals(Buffer.from(writePattern(9)))).toBe(true);
    expect(Buffer.from(file.subarray(8 * SECTOR_SIZE, 9 * SECTOR_SIZE)).equals(Buffer.from(knownSector(8)))).toBe(true);
  });

  it('a read_only disk offers VIRTIO_BLK_F_RO and refuses the write with IOERR; the file is unchanged', async () => {
    const image = createKnownDisk(16);
    const { lines, output } = await run(spec('action=virtio-blk blk-read=1 blk-write=3', [disk(image, true)]));
    expect(lines, output).toContain('hv-guest: virtio-blk capacity=16 ro=1 flush=1');
    expect(lines).toContain(expectedSectorLines(1)[0]);
    expect(lines).toContain('hv-guest: virtio-blk write sector=3 status=1 flush=0 read=0 readback=differs');
    expect(Buffer.from(readFileSync(image).subarray(3 * SECTOR_SIZE, 4 * SECTOR_SIZE)).equals(Buffer.from(knownSector(3)))).toBe(true);
  });

  it('survives a hostile guest writing random PCI configuration through CF8/CFC and ECAM', async () => {
    const image = createKnownDisk(8);
    const { lines, output } = await run(spec(`action=pci-fuzz:20000 ecam=0x${PCI_ECAM_START.toString(16)}`, [disk(image), rng()]));
    expect(lines, output).toContain('hv-guest: pci-fuzz done writes=20000');
    // Enumeration still answers afterwards (IDs are read-only whatever was written).
    expect(lines).toContain('hv-guest: pci 00:00.0 vendor=8086 device=0d57 class=060000');
    expect(lines).toContain('hv-guest: pci 00:02.0 vendor=1af4 device=1044 class=00ff00');
    expect(Buffer.from(readFileSync(image)).equals(Buffer.from(readFileSync(createKnownDisk(8))))).toBe(true);
  });

  it('refuses a disk whose image does not exist, naming the field', async () => {
    const s = spec('action=poweroff', [rng(), disk('/nonexistent/disk.img')]);
    let error: ServiceError | undefined;
    try {
      await unaryCall(domains().createDomain.bind(domains()), { spec: s, paused: false, requestId: '' });
    } catch (err) {
      error = err as ServiceError;
    }
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error!).map((v) => v.field)).toContain('spec.devices[1].disk.path');
  });
});
