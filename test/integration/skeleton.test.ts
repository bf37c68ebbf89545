/**
 * The walking skeleton end to end, as a user runs it: a real hvd process on a unix socket, the generated
 * TypeScript client, real engine processes running the test guest (built from test/guests/) on the emulated CPU.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { status } from '@grpc/grpc-js';
import { describe, expect, inject, it } from 'vitest';
import { unaryCall } from '../../clients/hvctl/connect';
import { BootFormat, DomainSpec, DomainState, DomainStateReason, DomainType } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec, rejection } from '../support/domains';
import { hvdPerFile, isAlive, waitFor } from '../support/hvd-process';

const guests = inject('guests');
const hvd = hvdPerFile();

const spec = (cmdline: string, extra: Partial<DomainSpec> = {}) => guestSpec(guests.pvh, cmdline, extra);
const domains = () => hvd().clients.domains;
const { create, get, resume, destroy, boot } = domainCalls(domains);

describe('capabilities', () => {
  it('reports the real host: CPU count, memory, and which domain types run here', async () => {
    const { capabilities } = await unaryCall(hvd().clients.capabilities.getCapabilities.bind(hvd().clients.capabilities), {});
    const host = capabilities!.host!;
    expect(host.topology!.onlineCpus).toBe(Number(execFileSync('nproc').toString()));
    expect(host.memoryBytes).toBe(os.totalmem());
    const types = capabilities!.guests[0].domainTypes;
    expect(types.find((t) => t.type === DomainType.DOMAIN_TYPE_EMULATED)?.available).toBe(true);
    const kvm = types.find((t) => t.type === DomainType.DOMAIN_TYPE_KVM)!;
    let kvmOpens = true;
    try {
      fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
    } catch {
      kvmOpens = false;
    }
    if (!kvmOpens) {
      expect(kvm.available).toBe(false);
      expect(kvm.unavailableReason).toMatch(/\/dev\/kvm/);
    }
  });
});

describe('a transient domain', () => {
  it('boots the PVH guest in its own engine process, streams its console, and is gone after it powers off', async () => {
    const domain = await create(spec('action=poweroff greeting=hi'), true);
    expect(domain.status!.state).toBe(DomainState.DOMAIN_STATE_PAUSED);
    const pid = domain.status!.enginePid;
    expect(pid).toBeGreaterThan(0);
    // Detached: the engine leads its own process group, so it survives hvd().
    expect(Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)]).toString().trim())).toBe(pid);
    const console = new ConsoleSession(domains(), { domain: domain.id });
    await resume(domain.id);

    const ended = await console.ended;
    expect(console.output).toContain('hv-guest: ready');
    expect(console.output).toContain('hv-guest: start_info=0x6000 version=1');
    expect(console.output).toContain('hv-guest: cmdline=action=poweroff greeting=hi');
    // 32 MiB of RAM less the EBDA/BIOS hole (0x9fc00..1 MiB) that the memory map reserves.
    expect(console.output).toContain(`hv-guest: memmap entries=3 ram=${(32 << 20) - (0x100000 - 0x9fc00)}`);
    expect(console.output).toContain('hv-guest: powering off');
    expect(ended.error).toBeUndefined();
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    expect(ended.messagesAfterClosed).toBe(0);

    expect((await rejection(get(domain.id))).code).toBe(status.NOT_FOUND);
    await waitFor(() => !isAlive(pid), 5000, 'the engine to exit');
    expect(fs.readdirSync(hvd().runDir)).toEqual([]);
  });

  it('is RUNNING/BOOTED while it runs, listed, found by name or id, and takes console input', async () => {
    const { domain, console } = await boot(spec('action=echo'), true);
    await console.waitFor(/echo>/);
    const byName = await get(domain.name);
    expect(byName.id).toBe(domain.id);
    expect(byName.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(byName.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_UNPAUSED);
    const listed = await unaryCall(domains().listDomains.bind(domains()), { pageSize: 0, pageToken: '', states: [DomainState.DOMAIN_STATE_RUNNING] });
    expect(listed.domains.map((d) => d.id)).toContain(domain.id);

    console.send('hello hv\r');
    await console.waitFor(/got=hello hv/);
    console.send('poweroff\r');
    const ended = await console.ended;
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
  });

  it('reports the debug-exit status as QEMU isa-debug-exit does', async () => {
    const { console } = await boot(spec('action=exit:3', { platform: { debugExit: true } }));
    const ended = await console.ended;
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
    expect(ended.closed?.guestExitStatus).toBe(7);
  });

  it('ends CRASHED when the guest takes a CPU exception', async () => {
    const { console } = await boot(spec('action=fault'));
    const ended = await console.ended;
    expect(console.output).toContain('faulting');
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_CRASHED);
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_CRASHED);
    expect(ended.closed?.message).toMatch(/vector 6/);
  });

  it('parks a halted vCPU: it stays RUNNING, uses no CPU, and DestroyDomain ends it DESTROYED', async () => {
    const { domain, console } = await boot(spec('action=hlt'));
    await console.waitFor(/halting/);
    const stats = () => unaryCall(domains().getDomainStats.bind(domains()), { domain: domain.id });
    await new Promise((r) => setTimeout(r, 300));
    const before = (await stats()).stats!;
    await new Promise((r) => setTimeout(r, 1000));
    const after = (await stats()).stats!;
    expect((await get(domain.id)).status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    // A spinning engine would use ~1e9 ns per second; parked it uses next to none.
    expect(after.cpuTimeNs - before.cpuTimeNs).toBeLessThan(200e6);

    const destroyed = await destroy(domain.id);
    expect(destroyed.status!.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(destroyed.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    const ended = await console.ended;
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
    expect(isAlive(domain.status!.enginePid)).toBe(false);
  });

  it('stays responsive while the guest spins: console, stats and destroy all answer', async () => {
    const { domain, console } = await boot(spec('action=spin'));
    await console.waitFor(/spinning/);
    const late = new ConsoleSession(domains(), { domain: domain.name });
    await late.waitFor(/hv-guest: ready[\s\S]*spinning/); // the scrollback replays output printed before it attached
    const stats = (await unaryCall(domains().getDomainStats.bind(domains()), { domain: domain.id })).stats!;
    expect(stats.vcpuExits).toBeGreaterThan(0);
    const started = Date.now();
    await destroy(domain.id);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await late.ended).closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_DESTROYED);
  });

  it('boots the same program as a raw flat binary at its load address and entry', async () => {
    const s = spec('');
    s.boot = { kernelPath: guests.raw, initrdPath: '', cmdline: '', format: BootFormat.BOOT_FORMAT_RAW, loadAddress: guests.rawLoad, entryAddress: guests.rawEntry };
    const { console } = await boot(s);
    const ended = await console.ended;
    expect(console.output).toContain('hv-guest: start_info=none');
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
  });

  it('gives the console input to one client at a time; force takes it over', async () => {
    const { domain, console: first } = await boot(spec('action=echo'), true);
    await first.waitFor(/echo>/);
    const second = new ConsoleSession(domains(), { domain: domain.id, input: true });
    const refused = await second.ended;
    expect(refused.error?.code).toBe(status.FAILED_PRECONDITION);
    const third = new ConsoleSession(domains(), { domain: domain.id, input: true, force: true });
    await waitFor(() => first.inputRevoked, 5000, 'the first client to lose the input');
    third.send('from third\r');
    await third.waitFor(/got=from third/);
    await destroy(domain.id);
  });
});

describe('bad input', () => {
  async function expectInvalid(s: DomainSpec, field: string, description: RegExp): Promise<void> {
    const before = fs.existsSync(hvd().runDir) ? fs.readdirSync(hvd().runDir) : [];
    const pidsBefore = hvd().enginePids();
    const err = await rejection(create(s));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const violation = fieldViolationsOf(err).find((v) => v.field === field);
    expect(violation?.description, `violations: ${JSON.stringify(fieldViolationsOf(err))}`).toMatch(description);
    expect(fs.existsSync(hvd().runDir) ? fs.readdirSync(hvd().runDir) : []).toEqual(before);
    expect(hvd().enginePids()).toEqual(pidsBefore);
  }

  it('names the field for a missing kernel, a kernel without a PVH note, and one that does not fit', async () => {
    await expectInvalid(spec('', { boot: { kernelPath: '/nonexistent/vmlinux', initrdPath: '', cmdline: '', format: 0, loadAddress: 0, entryAddress: 0 } }), 'spec.boot.kernel_path', /cannot open/);
    await expectInvalid(spec('', { boot: { kernelPath: process.execPath, initrdPath: '', cmdline: '', format: 0, loadAddress: 0, entryAddress: 0 } }), 'spec.boot.kernel_path', /PVH/);
    const big = path.join(hvd().dir, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(3 << 20));
    const s = spec('', { memory: { currentBytes: 2 << 20, maxBytes: 0 } });
    s.boot = { kernelPath: big, initrdPath: '', cmdline: '', format: BootFormat.BOOT_FORMAT_RAW, loadAddress: 1 << 20, entryAddress: 1 << 20 };
    await expectInvalid(s, 'spec.boot.kernel_path', /RAM|fit/);
  });

  it('names memory 0, vCPUs 0 and more vCPUs than EMULATED allows', async () => {
    await expectInvalid(spec('', { memory: { currentBytes: 0, maxBytes: 0 } }), 'spec.memory.current_bytes', /greater than 0/);
    await expectInvalid(spec('', { vcpus: { current: 0, max: 0 } }), 'spec.vcpus.current', /at least 1/);
    await expectInvalid(spec('', { vcpus: { current: 2, max: 0 } }), 'spec.vcpus.current', /maximum of 1/);
  });

  it('refuses a duplicate name with ALREADY_EXISTS and an unknown domain with NOT_FOUND', async () => {
    const { domain } = await boot(spec('action=hlt'));
    const dup = spec('action=hlt');
    dup.name = domain.name;
    expect((await rejection(create(dup))).code).toBe(status.ALREADY_EXISTS);
    await destroy(domain.id);
    expect((await rejection(get('no-such-domain'))).code).toBe(status.NOT_FOUND);
    expect((await rejection(destroy('no-such-domain'))).code).toBe(status.NOT_FOUND);
    const unknownConsole = await new ConsoleSession(domains(), { domain: 'no-such-domain' }).ended;
    expect(unknownConsole.error?.code).toBe(status.NOT_FOUND);
  });

  it('answers RPCs that later issues build with UNIMPLEMENTED naming what is missing', async () => {
    const hotplug = hvd().clients.hotplug;
    const err = await rejection(unaryCall(hotplug.listDevices.bind(hotplug), { domain: 'any', scope: 0 }));
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toMatch(/ListDevices/);
  });
});
