/**
 * virtio-console end to end: a real hvd, a domain with a `console` device, the engine putting a virtio-console
 * behind virtio-pci with its own ConsoleHub, and the test guest's polling driver (proven against QEMU's
 * virtconsole in test/guests/guest-under-qemu.test.ts) writing to port 0 and echoing what it receives. Users reach
 * the port through StreamConsole with open.device (and `hvctl console --device`), with the serial console's
 * semantics: scrollback replay, many readers, one input holder (force takes it over), final status then OK end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { status } from '@grpc/grpc-js';
import { describe, expect, inject, it } from 'vitest';
import { DomainState, type DeviceSpec } from '../../gen/hypervisor/v1/domain';
import { fieldViolationsOf } from '../../server/src/errors';
import { ConsoleSession } from '../support/console-client';
import { domainCalls, guestSpec } from '../support/domains';
import { HVCTL_MAIN, hvdPerFile } from '../support/hvd-process';

const guests = inject('guests');
const hvd = hvdPerFile();

const calls = domainCalls(() => hvd().clients.domains);
const consoleDevice = (id = ''): DeviceSpec => ({ id, kind: { $case: 'console', value: {} } });
const rng = (): DeviceSpec => ({ id: '', kind: { $case: 'rng', value: {} } });
const PORT = 'hv-guest: virtio-console port0';

describe('virtio-console devices', () => {
  it("carries the port's output to every reader and one holder's input to the guest, apart from the serial console", async () => {
    const domain = await calls.create(guestSpec(guests.pvh, 'action=virtio-console', { devices: [rng(), consoleDevice()] }), true);
    expect(domain.spec!.devices.map((d) => d.id)).toEqual(['rng0', 'console0']);
    const open = (extra: { input?: boolean; force?: boolean } = {}) => new ConsoleSession(hvd().clients.domains, { domain: domain.id, device: 'console0', ...extra });
    const writer = open({ input: true });
    const reader = open();
    const serial = new ConsoleSession(hvd().clients.domains, { domain: domain.id });
    await calls.resume(domain.id);

    await writer.waitFor(new RegExp(`${PORT} hello\\n`));
    await reader.waitFor(new RegExp(`${PORT} hello\\n`));
    writer.send('ping\n');
    await writer.waitFor(new RegExp(`${PORT} got=ping\\n`));
    await reader.waitFor(new RegExp(`${PORT} got=ping\\n`));
    // The guest's COM1 output stays on the serial console, and the port's output never reaches it.
    await serial.waitFor(/hv-guest: virtio-console got=ping\n/);
    expect(serial.output).toContain('hv-guest: virtio-console found 00:02.0');
    expect(serial.output).toContain('hv-guest: virtio-console size cols=80 rows=25');
    expect(serial.output).not.toContain(PORT);
    expect(writer.output).not.toContain('hv-guest: ready');

    // A client attaching late gets the port's scrollback; with force it takes the input over.
    const late = open({ input: true, force: true });
    await late.waitFor(new RegExp(`${PORT} hello\\n${PORT} got=ping\\n`));
    await expect.poll(() => writer.inputRevoked).toBe(true);
    late.send('poweroff\r');
    for (const session of [writer, reader, late, serial]) {
      const ended = await session.ended;
      expect(ended.error, session.output).toBeUndefined();
      expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
      expect(ended.messagesAfterClosed).toBe(0);
    }
    expect(late.output).toContain(`${PORT} got=poweroff\n`);
    expect(serial.output).toContain('hv-guest: powering off');
  });

  it('refuses input from a client that does not hold it, as on the serial console', async () => {
    const domain = await calls.create(guestSpec(guests.pvh, 'action=virtio-console', { devices: [consoleDevice('hvc')] }), true);
    const holder = new ConsoleSession(hvd().clients.domains, { domain: domain.id, device: 'hvc', input: true });
    await calls.resume(domain.id);
    await holder.waitFor(new RegExp(`${PORT} hello\\n`));
    const second = new ConsoleSession(hvd().clients.domains, { domain: domain.id, device: 'hvc', input: true });
    const refused = await second.ended;
    expect(refused.error?.code).toBe(status.FAILED_PRECONDITION);
    holder.send('poweroff\n');
    expect((await holder.ended).closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  });

  it('names open.device when it is not a console device of the domain', async () => {
    const domain = await calls.create(guestSpec(guests.pvh, 'action=spin', { devices: [rng(), consoleDevice()] }));
    for (const device of ['nope', 'rng0']) {
      const session = new ConsoleSession(hvd().clients.domains, { domain: domain.id, device });
      const { error } = await session.ended;
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolationsOf(error!).map((v) => v.field)).toEqual(['open.device']);
    }
    await calls.destroy(domain.id);
  });

  it('hvctl create --virtio-console makes the device; hvctl console --device prints the port (scrollback included) and the end of the domain', async () => {
    const name = `hvctl-port-${process.pid}`;
    const created = spawnSync(process.execPath, [HVCTL_MAIN, '--socket', hvd().socket, 'create', '--name', name, '--kernel', guests.pvh, '--cmdline', 'action=virtio-console', '--memory', '64M', '--virtio-console', '1', '--rng'], { encoding: 'utf8' });
    expect(created.status, created.stderr).toBe(0);
    const domain = await calls.get(name);
    expect(domain.spec!.devices.map((d) => d.id)).toEqual(['console0', 'rng0']);
    const driver = new ConsoleSession(hvd().clients.domains, { domain: domain.id, device: 'console0', input: true });
    await driver.waitFor(new RegExp(`${PORT} hello\\n`));
    const hvctl = spawn(process.execPath, [HVCTL_MAIN, '--socket', hvd().socket, 'console', domain.name, '--device', 'console0', '--read-only'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    hvctl.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    hvctl.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => hvctl.on('close', resolve));
    await expect.poll(() => stdout).toContain(`${PORT} hello\n`);
    driver.send('poweroff\n');
    expect(await exited).toBe(0);
    expect(stdout).toContain(`${PORT} got=poweroff\n`);
    expect(stdout).not.toContain('hv-guest: ready');
    expect(stderr).toMatch(/domain stopped: SHUTOFF/);
  });
});
