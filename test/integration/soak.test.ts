/**
 * Soak: many concurrent clients make random lifecycle calls for a bounded time; afterwards every state must be
 * consistent with the processes that exist, and nothing may have leaked (engines, sockets, run dirs, hvd fds).
 */
import * as fs from 'node:fs';
import { status, type ServiceError } from '@grpc/grpc-js';
import { expect, inject, it } from 'vitest';
import { connect, unaryCall, type HvClients } from '../../clients/hvctl/connect';
import { DomainSpec, DomainState, DomainType } from '../../gen/hypervisor/v1/domain';
import { hvdPerFile, isAlive, waitFor } from '../support/hvd-process';

const CLIENTS = 6;
const DOMAINS = 4;
const SOAK_MS = 8000;
/** Refusals a racing client must expect; anything else (INTERNAL, UNKNOWN, …) is a bug. */
const EXPECTED = new Set([status.FAILED_PRECONDITION, status.DEADLINE_EXCEEDED]);

const guests = inject('guests');
const hvd = hvdPerFile();

const fdCount = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

it('stays consistent and leak-free under concurrent random lifecycle calls', async () => {
  const names = Array.from({ length: DOMAINS }, (_, i) => `soak${i}-${process.pid}`);
  const d = hvd().clients.domains;
  for (const name of names) {
    const spec = DomainSpec.fromPartial({ name, type: DomainType.DOMAIN_TYPE_EMULATED, vcpus: { current: 1 }, memory: { currentBytes: 16 << 20 }, boot: { kernelPath: guests.pvh, cmdline: 'action=hlt' } });
    await unaryCall(d.defineDomain.bind(d), { spec, autostart: false, requestId: '' });
  }
  const hvdPid = hvd().process.pid!;
  const fdsBefore = fdCount(hvdPid);
  const unexpected: string[] = [];
  let calls = 0;
  const deadline = Date.now() + SOAK_MS;

  async function client(c: HvClients, seed: number): Promise<void> {
    let x = seed;
    const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31) % n);
    const cd = c.domains;
    while (Date.now() < deadline) {
      const domain = names[rand(DOMAINS)];
      const ops = [
        () => unaryCall(cd.startDomain.bind(cd), { domain, paused: rand(4) === 0, requestId: '' }),
        () => unaryCall(cd.destroyDomain.bind(cd), { domain, requestId: '' }),
        () => unaryCall(cd.suspendDomain.bind(cd), { domain, requestId: '' }),
        () => unaryCall(cd.resumeDomain.bind(cd), { domain, requestId: '' }),
        () => unaryCall(cd.shutdownDomain.bind(cd), { domain, timeout: { seconds: 0, nanos: 200e6 }, requestId: '' }),
        () => unaryCall(cd.getDomain.bind(cd), { domain }),
        () => unaryCall(cd.listDomains.bind(cd), { pageSize: 2, pageToken: '', states: [] }),
      ];
      try {
        calls++;
        await ops[rand(ops.length)]();
      } catch (err) {
        const e = err as ServiceError;
        if (!EXPECTED.has(e.code)) unexpected.push(`${e.code} ${e.details}`);
      }
    }
  }

  const clients = Array.from({ length: CLIENTS }, () => connect(hvd().socket));
  await Promise.all(clients.map((c, i) => client(c, i + 1)));
  clients.forEach((c) => c.close());
  expect(unexpected, unexpected.join("\n")).toEqual([]);
  expect(calls).toBeGreaterThan(50);

  // Every RUNNING/PAUSED domain has a live engine, every other one has none.
  const { domains } = await unaryCall(d.listDomains.bind(d), { pageSize: 0, pageToken: '', states: [] });
  for (const domain of domains.filter((x) => names.includes(x.name))) {
    const active = domain.status!.state === DomainState.DOMAIN_STATE_RUNNING || domain.status!.state === DomainState.DOMAIN_STATE_PAUSED;
    expect(active ? isAlive(domain.status!.enginePid) : domain.status!.enginePid === 0, `${domain.name}: ${JSON.stringify(domain.status)}`).toBe(true);
    if (active) await unaryCall(d.destroyDomain.bind(d), { domain: domain.id, requestId: '' });
  }
  // Nothing left behind: no engines, no run dirs or sockets, and hvd's descriptors back where they were.
  await waitFor(() => hvd().enginePids().length === 0 && fs.readdirSync(hvd().runDir).length === 0, 10_000, 'engines and run dirs to be gone');
  await waitFor(() => fdCount(hvdPid) <= fdsBefore + 2, 10_000, `hvd fds to return to ${fdsBefore} (now ${fdCount(hvdPid)})`);
});
