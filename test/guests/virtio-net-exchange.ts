/**
 * The conversation the test guest's virtio-net action has with a UDP peer on the host side of its tap, the same
 * under QEMU and under hv: the guest says hello, the host sends a short text, a full-size datagram and "bye",
 * the guest prints and echoes each.
 */
import { expect } from 'vitest';
import type { UdpPeer } from '../support/netns';
import { fnv1a } from './virtio-disk-image';

export const HOST_IP = '192.0.2.1';
export const GUEST_IP = '192.0.2.2';
export const NET_PORT = 7777;
/** The guest's cmdline for the exchange (extra words appended). */
export const netCmdline = (extra = ''): string => `action=virtio-net net-ip=${GUEST_IP} net-peer=${HOST_IP} net-port=${NET_PORT}${extra}`;

/** A datagram that fills a 1500-byte MTU frame (20 IPv4 + 8 UDP header bytes). */
export const BIG_PAYLOAD = Buffer.from(Array.from({ length: 1472 }, (_, i) => (i * 31 + 7) & 0xff));
const PING = Buffer.from('ping from the host');

/** Waits for the guest's hello, then sends the host's datagrams. */
export async function talkToGuest(peer: UdpPeer, guestMac: string): Promise<void> {
  const hello = await peer.receive((d) => d.payload.toString().startsWith('hello'));
  expect([hello.from, hello.port, hello.payload.toString()]).toEqual([GUEST_IP, NET_PORT, `hello from ${guestMac}`]);
  for (const payload of [PING, BIG_PAYLOAD, Buffer.from('bye')]) await peer.send(GUEST_IP, NET_PORT, payload);
  await peer.receive((d) => d.payload.toString() === 'bye');
}

/** What the guest printed and what came back: each host datagram seen intact and echoed. */
export function expectExchange(lines: string[], output: string, peer: UdpPeer, guestMac: string): void {
  expect(lines, output).toContain(`hv-guest: virtio-net mac=${guestMac} link=up`);
  expect(lines.some((l) => /^hv-guest: virtio-net arp peer=192\.0\.2\.1 mac=([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(l)), output).toBe(true);
  expect(lines).toContain(`hv-guest: virtio-net udp from=${HOST_IP}:${NET_PORT} len=${PING.length} fnv=${fnv1a(PING)} text=${PING}`);
  expect(lines.some((l) => l.startsWith(`hv-guest: virtio-net udp from=${HOST_IP}:${NET_PORT} len=${BIG_PAYLOAD.length} fnv=${fnv1a(BIG_PAYLOAD)} `)), output).toBe(true);
  expect(lines).toContain('hv-guest: virtio-net done udp=3 ignored=0');
  const echoes = peer.received.slice(1).map((d) => d.payload);
  expect(echoes.map((p) => p.length)).toEqual([PING.length, BIG_PAYLOAD.length, 3]);
  expect(Buffer.concat(echoes).equals(Buffer.concat([PING, BIG_PAYLOAD, Buffer.from('bye')]))).toBe(true);
}
