/**
 * virtio-net frames/s through a real tap: the device model with its TapBackend, the driver side played by the
 * test harness writing rings straight into guest RAM (no CPU, no PCI), and a UDP socket on the host side.
 *   guest→tap: the harness transmits UDP frames (64-byte payload) to the tap's address; the socket counts arrivals.
 *   tap→guest: the socket sends datagrams to the guest's address (a static neighbour entry); the harness keeps
 *   receive buffers posted and counts frames the device puts in them.
 * Needs root: it makes a network namespace with a tap, runs itself inside it (`ip netns exec`), removes it.
 *
 * Usage: node dist/bench/virtio-net-tap.js [frames=20000] [runs=3]
 */
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { setImmediate as tick } from 'node:timers/promises';
import { VIRTIO_F_EVENT_IDX } from '../engine/src/virtio/constants';
import { NET_RECEIVEQ, NET_TRANSMITQ, TapBackend, VIRTIO_NET_HDR_SIZE, VirtioNet } from '../engine/src/virtio/net';
import { DriverHarness } from '../test/engine/virtio/driver-harness';
import { runBench } from './support/processes';
import { fmt, summarize, table } from './support/report';

const TAP = 'hvbench0';
const HOST_IP = '192.0.2.1';
const GUEST_IP = '192.0.2.2';
const GUEST_MAC = '52:54:00:00:be:01';
const PORT = 9000;
const PAYLOAD = 64;
/** Frames handed to the tap (or sent by the socket) before the loop yields, so the other side keeps up. */
const BATCH = 64;
/** A run ends when nothing has moved for this long (frames the kernel dropped never arrive). */
const STALL_MS = 300;
const WATCHDOG_MS = 55_000;

const ipBytes = (ip: string) => ip.split('.').map(Number);

/** An Ethernet + IPv4 + UDP frame from the guest to the host's socket (UDP checksum 0: none, valid for IPv4). */
function udpFrame(hostMac: number[]): Uint8Array {
  const ip = [0x45, 0, 0, 20 + 8 + PAYLOAD, 0, 0, 0x40, 0, 64, 17, 0, 0, ...ipBytes(GUEST_IP), ...ipBytes(HOST_IP)];
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (~sum >> 8) & 0xff;
  ip[11] = ~sum & 0xff;
  const udp = [PORT >> 8, PORT & 0xff, PORT >> 8, PORT & 0xff, 0, 8 + PAYLOAD, 0, 0];
  const mac = GUEST_MAC.split(':').map((b) => parseInt(b, 16));
  return Uint8Array.from([...hostMac, ...mac, 0x08, 0x00, ...ip, ...udp, ...new Array<number>(PAYLOAD).fill(0x5a)]);
}

function device() {
  const h = new DriverHarness(16 << 20);
  const backend = TapBackend.open(TAP);
  const nic = new VirtioNet({ backend, mac: Uint8Array.from(GUEST_MAC.split(':').map((b) => parseInt(b, 16))) });
  const rx = h.queue(256);
  const tx = h.queue(256);
  h.activate(nic, [rx, tx], nic.deviceFeatures & ~VIRTIO_F_EVENT_IDX);
  return { h, backend, nic, rx, tx };
}

/** Waits until count() reaches target or stops moving; returns seconds from start to the last progress. */
async function settle(count: () => number, target: number, started: bigint, pump: () => void = () => undefined): Promise<number> {
  let last = count();
  let lastAt = process.hrtime.bigint();
  while (count() < target) {
    pump();
    await new Promise((r) => setTimeout(r, 1));
    if (count() !== last) {
      last = count();
      lastAt = process.hrtime.bigint();
    } else if (Number(process.hrtime.bigint() - lastAt) / 1e6 > STALL_MS) break;
  }
  return Number(lastAt - started) / 1e9;
}

async function guestToTap(frames: number, socket: dgram.Socket, hostMac: number[]): Promise<{ rate: number; delivered: number }> {
  const { h, backend, nic, tx } = device();
  let arrived = 0;
  const onMessage = () => arrived++;
  socket.on('message', onMessage);
  try {
    const frame = udpFrame(hostMac);
    const chain = h.alloc(VIRTIO_NET_HDR_SIZE + frame.length);
    h.memory.write(chain, Uint8Array.from([...new Uint8Array(VIRTIO_NET_HDR_SIZE), ...frame]));
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < frames; ) {
      for (let i = 0; i < BATCH && sent < frames; i++, sent++) tx.add([{ len: VIRTIO_NET_HDR_SIZE + frame.length, addr: chain }]);
      nic.notify(NET_TRANSMITQ);
      tx.takeUsed();
      await tick(); // the socket reads between batches, as the engine's loop serves sockets between slices
    }
    const seconds = await settle(() => arrived, frames, started);
    return { rate: arrived / seconds, delivered: arrived / frames };
  } finally {
    socket.off('message', onMessage);
    await backend.close();
  }
}

async function tapToGuest(frames: number, socket: dgram.Socket): Promise<{ rate: number; delivered: number }> {
  const { h, backend, nic, rx } = device();
  try {
    const buffers = Array.from({ length: 256 }, () => h.alloc(VIRTIO_NET_HDR_SIZE + 1514));
    const post = (addr: number) => rx.add([{ len: VIRTIO_NET_HDR_SIZE + 1514, write: true, addr }]);
    const byHead = new Map(buffers.map((addr) => [post(addr), addr]));
    nic.notify(NET_RECEIVEQ);
    let received = 0;
    const reap = () => {
      // Collect first: takeUsed frees every descriptor at once, so a repost may reuse a head still in the list.
      const freed = rx.takeUsed().map((used) => {
        const addr = byHead.get(used.id)!;
        byHead.delete(used.id);
        return addr;
      });
      received += freed.length;
      for (const addr of freed) byHead.set(post(addr), addr);
      nic.notify(NET_RECEIVEQ);
    };
    const payload = Buffer.alloc(PAYLOAD, 0x5a);
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < frames; ) {
      const batch = Math.min(BATCH, frames - sent);
      await Promise.all(Array.from({ length: batch }, () => new Promise((r) => socket.send(payload, PORT, GUEST_IP, r))));
      sent += batch;
      await tick(); // sends that complete at once call back on nextTick: yield so the loop polls the tap
      reap();
    }
    const seconds = await settle(() => received, frames, started, reap);
    return { rate: received / seconds, delivered: received / frames };
  } finally {
    await backend.close();
  }
}

async function inside(frames: number, runs: number): Promise<void> {
  const hostMac = fs.readFileSync(`/sys/class/net/${TAP}/address`, 'utf8').trim().split(':').map((b) => parseInt(b, 16));
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(PORT, HOST_IP, r));
  socket.setRecvBufferSize(8 << 20);
  const rows: string[][] = [];
  for (const [name, run] of [
    ['guest → tap', () => guestToTap(frames, socket, hostMac)],
    ['tap → guest', () => tapToGuest(frames, socket)],
  ] as const) {
    const results = [];
    for (let r = 0; r < runs; r++) results.push(await run());
    const rate = summarize(results.map((x) => x.rate)).median;
    const delivered = summarize(results.map((x) => x.delivered)).min;
    rows.push([name, fmt(rate), `${(delivered * 100).toFixed(1)} %`]);
  }
  socket.close();
  console.log(`virtio-net device model + tap, harness driver, ${frames} UDP frames of ${PAYLOAD}-byte payload, median of ${runs} runs (node ${process.version}, ${os.availableParallelism()} CPUs)`);
  console.log(table(['direction', 'frames/s', 'delivered (worst run)'], rows));
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

function outside(frames: number, runs: number): number {
  const netns = `hv-bench-${process.pid}`;
  ip('netns', 'add', netns);
  try {
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    spawnSync('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    ip('-n', netns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    ip('-n', netns, 'addr', 'add', `${HOST_IP}/24`, 'dev', TAP);
    ip('-n', netns, 'link', 'set', TAP, 'up');
    ip('-n', netns, 'neigh', 'replace', GUEST_IP, 'lladdr', GUEST_MAC, 'dev', TAP, 'nud', 'permanent');
    const child = spawnSync('ip', ['netns', 'exec', netns, process.execPath, __filename, String(frames), String(runs), '--inside'], { stdio: 'inherit', timeout: WATCHDOG_MS });
    return child.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', netns]);
  }
}

const frames = Number(process.argv[2] ?? 20000);
const runs = Number(process.argv[3] ?? 3);
if (!Number.isInteger(frames) || frames < 1 || frames > 1e7 || !Number.isInteger(runs) || runs < 1 || runs > 9) {
  console.error('usage: virtio-net-tap.js [frames=20000 (1..1e7)] [runs=3 (1..9)]');
  process.exit(2);
}
if (process.argv[4] === '--inside') {
  runBench(() => inside(frames, runs));
} else if (process.getuid?.() !== 0) {
  console.error('virtio-net-tap: needs root (ip netns add, ip tuntap add)');
  process.exit(1);
} else {
  process.exit(outside(frames, runs));
}
