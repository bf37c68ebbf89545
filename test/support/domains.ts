import type { ServiceError } from '@grpc/grpc-js';
import { unaryCall } from '../../clients/hvctl/connect';
import { DomainSpec, DomainType, type Domain } from '../../gen/hypervisor/v1/domain';
import type { DomainServiceClient } from '../../gen/hypervisor/v1/domain_service';
import { ConsoleSession } from './console-client';

let serial = 0;

/** A spec for the test guest with a name unique to this test process: EMULATED, 1 vCPU, 32 MiB. */
export function guestSpec(kernelPath: string, cmdline: string, extra: Parameters<typeof DomainSpec.fromPartial>[0] = {}): DomainSpec {
  return DomainSpec.fromPartial({
    name: `t${++serial}-${process.pid}`,
    type: DomainType.DOMAIN_TYPE_EMULATED,
    vcpus: { current: 1 },
    memory: { currentBytes: 32 << 20 },
    boot: { kernelPath, cmdline },
    ...extra,
  });
}

/** The DomainService calls the integration tests make, as promises of the domain they return. */
export function domainCalls(client: () => DomainServiceClient) {
  const domainOf = (response: { domain?: Domain }) => response.domain as Domain;
  const c = client;
  return {
    create: async (spec: DomainSpec, paused = false) => domainOf(await unaryCall(c().createDomain.bind(c()), { spec, paused, requestId: '' })),
    define: async (spec: DomainSpec, requestId = '') => domainOf(await unaryCall(c().defineDomain.bind(c()), { spec, autostart: false, requestId })),
    start: async (domain: string) => domainOf(await unaryCall(c().startDomain.bind(c()), { domain, paused: false, requestId: '' })),
    get: async (domain: string) => domainOf(await unaryCall(c().getDomain.bind(c()), { domain })),
    resume: async (domain: string) => domainOf(await unaryCall(c().resumeDomain.bind(c()), { domain, requestId: '' })),
    destroy: async (domain: string) => domainOf(await unaryCall(c().destroyDomain.bind(c()), { domain, requestId: '' })),
    undefine: (domain: string) => unaryCall(c().undefineDomain.bind(c()), { domain, requestId: '' }),
    /** Creates paused, attaches the console, then runs: the guest's whole output is seen. */
    boot: async (spec: DomainSpec, input = false) => {
      const calls = domainCalls(client);
      const domain = await calls.create(spec, true);
      const console = new ConsoleSession(c(), { domain: domain.id, input });
      await calls.resume(domain.id);
      return { domain, console };
    },
  };
}

/** The error a call fails with; fails the test if it succeeds. */
export async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}
