#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { ServiceError } from '@grpc/grpc-js';
import { BootFormat, Domain, DomainSpec, DomainType, domainStateFromJSON, type DeviceSpec } from '../../gen/hypervisor/v1/domain';
import { attachConsole } from './console';
import { connect, unaryCall, type HvClients } from './connect';
import { parseBytes } from './parse-bytes';
import { consoleDevice, parseBalloon, parseDisk, parseNic, rngDevice } from './parse-devices';

const program = new Command()
  .name('hvctl')
  .description('command-line client for hvd')
  .option('-s, --socket <path>', 'hvd API socket (env HV_SOCKET)', process.env.HV_SOCKET ?? '/run/hv/hvd.sock');

function clients(): HvClients {
  return connect(program.opts<{ socket: string }>().socket);
}

/** Runs a command with fresh clients, printing gRPC errors as `code: message` and exiting non-zero. */
function run(action: (c: HvClients) => Promise<void>): Promise<void> {
  const c = clients();
  return action(c)
    .catch((err: ServiceError) => {
      process.stderr.write(`hvctl: ${err.code !== undefined ? `${err.code} ` : ''}${err.details ?? err.message}\n`);
      process.exitCode = 1;
    })
    .finally(() => c.close());
}

interface CreateOptions {
  name: string;
  kernel: string;
  initrd?: string;
  cmdline: string;
  memory: string;
  vcpus: string;
  type: string;
  raw?: string;
  debugExit?: boolean;
  disk: DeviceSpec[];
  nic: DeviceSpec[];
  virtioConsole: string;
  rng?: boolean;
  balloon?: string | true;
  console?: boolean;
}

/** A repeatable option: each use parsed and appended. */
const collect = (parse: (text: string) => DeviceSpec) => (text: string, all: DeviceSpec[]) => [...all, parse(text)];

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const printDomain = (domain: Domain | undefined): void => print(domain ? Domain.toJSON(domain) : undefined);

program.command('capabilities').alias('caps').description('what this host can do').action(() =>
  run(async (c) => print((await unaryCall(c.capabilities.getCapabilities.bind(c.capabilities), {})).capabilities)),
);

program
  .command('create')
  .description('start a transient domain')
  .requiredOption('-n, --name <name>', 'domain name')
  .requiredOption('-k, --kernel <path>', 'kernel image (PVH ELF, Linux bzImage, or raw with --raw)')
  .option('--initrd <path>', 'initrd for a Linux kernel')
  .option('-c, --cmdline <text>', 'kernel command line', '')
  .option('-m, --memory <size>', 'guest RAM, e.g. 64M, 1G', '64M')
  .option('--vcpus <n>', 'vCPUs', '1')
  .option('-t, --type <type>', 'emulated or kvm', 'emulated')
  .option('--raw <load:entry>', 'raw flat binary: load and entry addresses, e.g. 0x100000:0x100000')
  .option('--debug-exit', 'enable the isa-debug-exit port 0xf4')
  .option('--disk <path[,ro][,serial=S]>', 'virtio-blk disk on a raw image (repeatable)', collect(parseDisk), [])
  .option('--nic <tap[,mac=M]>', 'virtio-net on an existing tap (repeatable)', collect(parseNic), [])
  .option('--virtio-console <count>', 'virtio-console devices console0, console1, ... (hvctl console --device)', '0')
  .option('--rng', 'a virtio-rng device')
  .option('--balloon [stats=S,deflate-on-oom]', 'a virtio-balloon device')
  .option('--console', 'attach to the console after starting (Ctrl-] detaches)')
  .action((o: CreateOptions) =>
    run(async (c) => {
      const [load, entry] = (o.raw ?? '0:0').split(':').map((n) => Number(n));
      const devices = [
        ...o.disk,
        ...o.nic,
        ...Array.from({ length: Number(o.virtioConsole) }, consoleDevice),
        ...(o.rng ? [rngDevice()] : []),
        ...(o.balloon !== undefined ? [parseBalloon(o.balloon === true ? '' : o.balloon)] : []),
      ];
      const spec = DomainSpec.fromPartial({
        name: o.name,
        type: o.type === 'kvm' ? DomainType.DOMAIN_TYPE_KVM : DomainType.DOMAIN_TYPE_EMULATED,
        vcpus: { current: Number(o.vcpus) },
        memory: { currentBytes: parseBytes(o.memory) },
        boot: {
          kernelPath: path.resolve(o.kernel),
          initrdPath: o.initrd !== undefined ? path.resolve(o.initrd) : '',
          cmdline: o.cmdline,
          format: o.raw ? BootFormat.BOOT_FORMAT_RAW : BootFormat.BOOT_FORMAT_UNSPECIFIED,
          loadAddress: load,
          entryAddress: entry,
        },
        platform: { debugExit: Boolean(o.debugExit) },
        devices,
      });
      // With --console: create paused, attach, then run, so not one byte of output is missed.
      const { domain } = await unaryCall(c.domains.createDomain.bind(c.domains), { spec, paused: Boolean(o.console), requestId: '' });
      if (!o.console || !domain) return printDomain(domain);
      process.stderr.write(`[hvctl: domain ${domain.name} (${domain.id}) created; console attached, Ctrl-] detaches]\n`);
      const session = consoleSession(c, domain.id, false);
      await unaryCall(c.domains.resumeDomain.bind(c.domains), { domain: domain.id, requestId: '' });
      await session;
    }),
  );

program
  .command('list')
  .description('list domains')
  .option('--state <state>', 'only domains in this state, e.g. RUNNING')
  .action((o: { state?: string }) =>
    run(async (c) => {
      const states = o.state ? [domainStateFromJSON(`DOMAIN_STATE_${o.state.toUpperCase()}`)] : [];
      let pageToken = '';
      do {
        const page = await unaryCall(c.domains.listDomains.bind(c.domains), { pageSize: 0, pageToken, states });
        for (const d of page.domains) process.stdout.write(`${d.id}  ${d.name}  ${stateName(d)}\n`);
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
    }),
  );

program.command('get <domain>').description('show a domain').action((domain: string) =>
  run(async (c) => printDomain((await unaryCall(c.domains.getDomain.bind(c.domains), { domain })).domain)),
);

program.command('destroy <domain>').description('stop a domain at once').action((domain: string) =>
  run(async (c) => printDomain((await unaryCall(c.domains.destroyDomain.bind(c.domains), { domain, requestId: '' })).domain)),
);

program.command('stats <domain>').description('engine counters of a running domain').action((domain: string) =>
  run(async (c) => print((await unaryCall(c.domains.getDomainStats.bind(c.domains), { domain })).stats)),
);

program.command('export <domain>').description('print the domain as a libvirt <domain> XML document').action((domain: string) =>
  run(async (c) => void process.stdout.write((await unaryCall(c.domains.exportLibvirtXml.bind(c.domains), { domain })).xml)),
);

program
  .command('import <file>')
  .description('read a libvirt <domain> XML document (- for stdin): print the spec hv makes of it, or define it')
  .option('--define', 'also define the domain (persistent)')
  .action((file: string, o: { define?: boolean }) =>
    run(async (c) => {
      const xml = readFileSync(file === '-' ? 0 : file, 'utf8');
      const { spec, domain } = await unaryCall(c.domains.importLibvirtXml.bind(c.domains), { xml, define: Boolean(o.define), requestId: '' });
      if (domain) printDomain(domain);
      else print(spec ? DomainSpec.toJSON(spec) : undefined);
    }),
  );

program
  .command('console <domain>')
  .description('attach to the serial console, or a console device (Ctrl-] detaches)')
  .option('--device <id>', 'a virtio-console device of the domain (default: the serial console)', '')
  .option('--force', 'take the console input from another client')
  .option('--read-only', 'do not send input')
  .action((domain: string, o: { device: string; force?: boolean; readOnly?: boolean }) => run((c) => consoleSession(c, domain, Boolean(o.force), !o.readOnly, o.device)));

async function consoleSession(c: HvClients, domain: string, force: boolean, input = true, device = ''): Promise<void> {
  const final = await attachConsole(c.domains, { domain, force, input, skipScrollback: false, device });
  if (final) process.stderr.write(`\n[hvctl: domain stopped: ${stateName({ status: final })}${final.message ? ` (${final.message})` : ''}]\n`);
}

function stateName(d: Pick<Domain, 'status'>): string {
  const json = Domain.toJSON(Domain.fromPartial({ status: d.status })) as { status?: { state?: string; reason?: string } };
  const state = (json.status?.state ?? '').replace('DOMAIN_STATE_', '');
  const reason = (json.status?.reason ?? '').replace('DOMAIN_STATE_REASON_', '');
  return `${state}/${reason}`;
}

void program.parseAsync();
