/**
 * The platform devices end to end, as a user sees them: a real hvd, real engine processes running the test
 * guest on the emulated CPU. pvpanic ends a domain CRASHED/PANICKED; the i8042 reset follows on_reboot
 * (RESTART, the default: the guest boots again in the same engine; DESTROY: it ends SHUTOFF/SHUTDOWN); the
 * guest finds and checks the ACPI tables through PVH start_info; the CMOS RTC tells it today's date.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { describe, expect, inject, it } from 'vitest';
import { runDirFor } from '../../engine/src/control/run-dir';
import { EngineServiceClient, type GetStateResponse } from '../../gen/hypervisor/engine/v1/engine_service';
import { DomainSpec, DomainState, DomainStateReason, LifecycleAction } from '../../gen/hypervisor/v1/domain';
import { domainCalls, guestSpec } from '../support/domains';
import { hvdPerFile } from '../support/hvd-process';

const guests = inject('guests');
const hvd = hvdPerFile();

const spec = (cmdline: string, extra: Parameters<typeof DomainSpec.fromPartial>[0] = {}) => guestSpec(guests.pvh, cmdline, extra);
const domains = () => hvd().clients.domains;
const { get, destroy, boot } = domainCalls(domains);

/** The engine's own view of the guest, straight from its control socket. */
function engineState(domainId: string): Promise<GetStateResponse> {
  const client = new EngineServiceClient(`unix://${runDirFor(hvd().runDir, domainId).socket}`, credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.getState({}, new Metadata(), { deadline: Date.now() + 5000 }, (err, response) => {
      client.close();
      if (err) reject(err);
      else resolve(response);
    }),
  );
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('pvpanic', () => {
  it('a guest panic ends the domain CRASHED/PANICKED', async () => {
    const { console } = await boot(spec('action=panic'));
    const ended = await console.ended;
    expect(console.output).toContain('hv-guest: pvpanic events=0x3');
    expect(console.output).toContain('hv-guest: panicking (pvpanic)');
    expect(console.output).not.toContain('pvpanic ignored');
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_CRASHED);
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_PANICKED);
  });
});

describe('i8042 reset', () => {
  it('with the default on_reboot (RESTART) the guest boots again in place and stays RUNNING/RESET', async () => {
    const { domain, console } = await boot(spec('action=reboot'));
    await console.waitFor(/rebooting[\s\S]*hv-guest: ready[\s\S]*rebooting[\s\S]*hv-guest: ready/);
    expect(console.output).not.toContain('i8042 reset ignored');
    expect(count(console.output, 'hv-guest: ready')).toBeGreaterThanOrEqual(2);
    const live = await get(domain.id);
    expect(live.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(live.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_RESET);
    expect(live.status!.enginePid).toBe(domain.status!.enginePid); // the same engine: reset in place
    const engine = await engineState(domain.id);
    expect(engine.status!.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    expect(engine.status!.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_RESET);
    await destroy(domain.id);
  });

  it('a guest that reboots once boots again with its boot information intact', async () => {
    // The second boot re-reads start_info, cmdline and memory map: the same lines as the first boot.
    const { domain, console } = await boot(spec('action=reboot marker=x'));
    await console.waitFor(/rebooting[\s\S]*rebooting/);
    const boots = console.output.split('hv-guest: ready').slice(1).map((b) => b.slice(0, b.indexOf('rebooting')));
    expect(boots[0]).toContain('cmdline=action=reboot marker=x');
    expect(boots[1]).toBe(boots[0]);
    await destroy(domain.id);
  });

  it('with on_reboot DESTROY the domain ends SHUTOFF/SHUTDOWN', async () => {
    const { console } = await boot(spec('action=reboot', { lifecycle: { onReboot: LifecycleAction.LIFECYCLE_ACTION_DESTROY } }));
    const ended = await console.ended;
    expect(count(console.output, 'hv-guest: ready')).toBe(1);
    expect(console.output).toContain('rebooting (i8042 reset)');
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(ended.closed?.reason).toBe(DomainStateReason.DOMAIN_STATE_REASON_SHUTDOWN);
  });
});

describe('ACPI tables', () => {
  it('the guest finds the RSDP through start_info and every table checks out', async () => {
    const { console } = await boot(spec('action=acpi'));
    const ended = await console.ended;
    const out = console.output;
    expect(out).toMatch(/hv-guest: acpi rsdp addr=0xe0000 revision=2 checksum=ok/);
    for (const signature of ['XSDT', 'FACP', 'APIC', 'MCFG', 'DSDT']) {
      expect(out).toMatch(new RegExp(`hv-guest: acpi table=${signature} addr=0x[0-9a-f]+ length=\\d+ checksum=ok`));
    }
    expect(out).toContain('hv-guest: acpi fadt revision=6 pm1a_evt=0x600 pm1a_cnt=0x604 sci=9');
    expect(out).toMatch(/hv-guest: acpi done tables=\d+ bad=0/);
    expect(out).not.toContain('checksum=bad');
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
  });
});

describe('CMOS RTC', () => {
  it("the guest reads today's date and the time from the RTC", async () => {
    const before = Date.now();
    const { console } = await boot(spec('action=rtc'));
    await console.ended;
    const after = Date.now();
    const match = /hv-guest: rtc date=(\d{4})-(\d\d)-(\d\d) time=(\d\d):(\d\d):(\d\d) status_b=0x2/.exec(console.output);
    expect(match, console.output).not.toBeNull();
    const [, y, mo, d, h, mi, s] = match!.map(Number);
    const guest = Date.UTC(y, mo - 1, d, h, mi, s);
    // The RTC counts whole seconds (UTC): the reading lies within the test's own clock readings.
    expect(guest).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(guest).toBeLessThanOrEqual(after);
  });
});
