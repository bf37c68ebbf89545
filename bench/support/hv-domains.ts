/** The few DomainService calls the benches make, and a StreamConsole client that stamps what it receives. */
import type { ServiceError } from '@grpc/grpc-js';
import { unaryCall, type HvClients } from '../../clients/hvctl/connect';
import { DomainSpec, DomainType, type Domain, type DomainStatus } from '../../gen/hypervisor/v1/domain';
import type { DomainStats, StreamConsoleResponse } from '../../gen/hypervisor/v1/domain_service';
import { GUEST_ELF } from './processes';
import { TimedOutput } from './timed-output';

let seq = 0;

/** An EMULATED one-vCPU domain running the test guest with this command line. */
export function guestSpec(cmdline: string, memoryBytes: number, extra: Partial<DomainSpec> = {}): DomainSpec {
  return DomainSpec.fromPartial({
    name: `bench-${process.pid}-${++seq}`,
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: memoryBytes },
    boot: { kernelPath: GUEST_ELF, cmdline },
    ...extra,
  });
}

export class Domains {
  constructor(private readonly clients: HvClients) {}

  private get d() {
    return this.clients.domains;
  }

  async create(spec: DomainSpec, paused: boolean): Promise<Domain> {
    return (await unaryCall(this.d.createDomain.bind(this.d), { spec, paused, requestId: '' })).domain!;
  }

  async resume(domain: string): Promise<Domain> {
    return (await unaryCall(this.d.resumeDomain.bind(this.d), { domain, requestId: '' })).domain!;
  }

  async destroy(domain: string): Promise<Domain> {
    return (await unaryCall(this.d.destroyDomain.bind(this.d), { domain, requestId: '' })).domain!;
  }

  async stats(domain: string): Promise<DomainStats> {
    return (await unaryCall(this.d.getDomainStats.bind(this.d), { domain })).stats!;
  }

  console(domain: string): ConsoleWatch {
    return new ConsoleWatch(this.clients, domain);
  }
}

/** A read-only StreamConsole client with scrollback replay on (the default), output stamped on arrival. */
export class ConsoleWatch {
  readonly output = new TimedOutput();
  /** Resolves when the stream ends: the final status (OK end) or the error. */
  readonly ended: Promise<{ closed?: DomainStatus; error?: ServiceError; at: bigint }>;
  private readonly stream;

  constructor(clients: HvClients, domain: string) {
    this.stream = clients.domains.streamConsole();
    this.stream.write({ kind: { $case: 'open', value: { domain, input: false, force: false, skipScrollback: false, device: '' } } });
    let closed: DomainStatus | undefined;
    this.stream.on('data', (message: StreamConsoleResponse) => {
      const at = process.hrtime.bigint();
      const kind = message.kind;
      if (kind?.$case === 'output') this.output.push(kind.value.toString('latin1'), at);
      else if (kind?.$case === 'closed') closed = kind.value;
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('end', () => resolve({ closed, at: process.hrtime.bigint() }));
      this.stream.on('error', (error: ServiceError) => resolve({ closed, error, at: process.hrtime.bigint() }));
    });
  }

  cancel(): void {
    this.stream.cancel();
  }
}
