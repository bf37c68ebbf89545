/**
 * Device events through WatchEvents: a hostile or broken guest driver corrupts its virtqueue, the device sets
 * DEVICE_NEEDS_RESET (the guest sees it in its status register), and hvd publishes a DeviceEvent naming the
 * device; the guest and the domain go on. Real hvd, real engine, the test guest's virtio-rng driver.
 */
import { describe, expect, inject, it } from 'vitest';
import { DeviceEventType } from '../../gen/hypervisor/v1/events';
import { DomainState } from '../../gen/hypervisor/v1/domain';
import { domainCalls, guestSpec } from '../support/domains';
import { watchEvents } from '../support/event-watch';
import { hvdPerFile } from '../support/hvd-process';

const guests = inject('guests');
const hvd = hvdPerFile();

describe('device events', () => {
  it('a guest that corrupts its virtio-rng queue gets DEVICE_NEEDS_RESET, and watchers a NEEDS_RESET event for rng0', async () => {
    const d = () => hvd().clients.domains;
    const live = watchEvents(d());
    const { domain, console } = await domainCalls(d).boot(guestSpec(guests.pvh, 'action=virtio-rng-break', { devices: [{ id: 'rng0', kind: { $case: 'rng', value: {} } }] }));
    const ended = await console.ended;
    // The guest saw the device ask for a reset (0x40) on top of its DRIVER_OK status, then powered off normally.
    expect(console.output).toMatch(/hv-guest: virtio-rng-break status=0x4f/);
    expect(ended.closed?.state).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    await live.until((e) => e.some((x) => x.domainId === domain.id && x.kind?.$case === 'device'), 'the device event');
    live.close();
    const device = live.events.filter((x) => x.domainId === domain.id && x.kind?.$case === 'device').map((x) => x.kind!.value);
    expect(device).toEqual([{ type: DeviceEventType.DEVICE_EVENT_TYPE_NEEDS_RESET, deviceId: 'rng0', message: 'queue 0 is broken' }]);
  });
});
