/**
 * Network namespaces the tests make for themselves (as root): a tap with an address inside, processes run in it
 * with `ip netns exec`, and a UDP peer there that reports what it receives. Nothing touches the host's own
 * network: every address lives only inside the namespace, which afterAll removes.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

let probed: string | undefined | null = null;

/** Why network-namespace tests cannot run here (not root, no /dev/net/tun, no `ip netns`), or undefined. */
export function netnsUnavailable(): string | undefined {
  if (probed !== null) return probed;
  const probe = `hv-probe-${process.pid}`;
  if (process.getuid?.() !== 0) probed = 'needs root (ip netns add, ip tuntap add)';
  else if (!existsSync('/dev/net/tun')) probed = '/dev/net/tun is missing';
  else if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) probed = '`ip netns add` failed (iproute2 missing or no permission)';
  else {
    spawnSync('ip', ['netns', 'del', probe]);
    probed = undefined;
  }
  return probed;
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

let serial = 0;

export interface TestNetns {
  readonly name: string;
  /** Creates tap `tap` (persistent, no user yet) with address `cidr` ("192.0.2.1/24"), up, IPv6 off (no noise). */
  addTap(tap: string, cidr: string): void;
  /** A permanent neighbour entry: the host side sends to `address` without ARP. */
  addNeighbour(address: string, mac: string, dev: string): void;
  /** argv prefixed to run a command inside the namespace. */
  exec(command: string, args: readonly string[]): [string, string[]];
  remove(): void;
}

export function createNetns(): TestNetns {
  const name = `hv-${process.pid}-${++serial}`;
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return {
    name,
    addTap(tap, cidr) {
      spawnSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      ip('-n', name, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
      ip('-n', name, 'addr', 'add', cidr, 'dev', tap);
      ip('-n', name, 'link', 'set', tap, 'up');
    },
    addNeighbour(address, mac, dev) {
      ip('-n', name, 'neigh', 'replace', address, 'lladdr', mac, 'dev', dev, 'nud', 'permanent');
    },
    exec: (command, args) => ['ip', ['netns', 'exec', name, command, ...args]],
    remove() {
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
}

/** A datagram the peer received. */
export interface Datagram {
  from: string;
  port: number;
  payload: Buffer;
}

// The peer: binds address:port, prints one JSON line per datagram, and sends what stdin's JSON lines ask for.
const PEER_SCRIPT = `
const socket = require('node:dgram').createSocket('udp4');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
socket.on('message', (m, r) => out({ from: r.address, port: r.port, hex: m.toString('hex') }));
socket.on('error', (e) => out({ error: e.message }));
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line);
  const payloads = c.count ? Array.from({ length: c.count }, (_, i) => Buffer.from(c.prefix + i)) : [Buffer.from(c.hex, 'hex')];
  let left = payloads.length, errors = 0;
  for (const p of payloads) socket.send(p, c.port, c.host, (e) => { if (e) errors++; if (--left === 0) out({ sent: payloads.length, errors }); });
});
process.stdin.on('end', () => socket.close());
socket.bind(Number(process.argv[2]), process.argv[1], () => out({ ready: true }));
`;

/** A UDP socket inside the namespace, driven by the test. */
export class UdpPeer {
  readonly received: Datagram[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: (() => void)[] = [];
  private sends: ((result: { sent: number; errors: number }) => void)[] = [];
  private errors: string[] = [];
  private ready = false;

  constructor(netns: TestNetns, address: string, port: number) {
    const [command, args] = netns.exec(process.execPath, ['-e', PEER_SCRIPT, address, String(port)]);
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => this.errors.push(chunk.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: boolean; from?: string; port?: number; hex?: string; sent?: number; errors?: number; error?: string };
      if (message.ready) this.ready = true;
      else if (message.hex !== undefined) this.received.push({ from: message.from!, port: message.port!, payload: Buffer.from(message.hex, 'hex') });
      else if (message.sent !== undefined) this.sends.shift()?.({ sent: message.sent, errors: message.errors! });
      else if (message.error) this.errors.push(message.error);
      this.waiters.forEach((w) => w());
    });
  }

  /** Resolves once the socket is bound. */
  started(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.ready, timeoutMs, 'the UDP peer to bind');
  }

  /** Resolves with the first received datagram matching `test`. */
  async receive(test: (d: Datagram) => boolean, timeoutMs = 30_000): Promise<Datagram> {
    await this.until(() => this.received.some(test), timeoutMs, 'a datagram');
    return this.received.find(test)!;
  }

  send(host: string, port: number, payload: Buffer): Promise<{ sent: number; errors: number }> {
    return this.command({ host, port, hex: payload.toString('hex') });
  }

  /** Sends `count` datagrams "<prefix><i>" as fast as the socket takes them. */
  flood(host: string, port: number, prefix: string, count: number): Promise<{ sent: number; errors: number }> {
    return this.command({ host, port, prefix, count });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }

  private command(c: object): Promise<{ sent: number; errors: number }> {
    return new Promise((resolve) => {
      this.sends.push(resolve);
      this.child.stdin.write(`${JSON.stringify(c)}\n`);
    });
  }

  private until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.received.length}; errors: ${this.errors.join('; ')}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      waiter();
    });
  }
}
