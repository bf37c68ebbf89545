import { credentials, Metadata, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { CapabilitiesServiceClient } from '../../gen/hypervisor/v1/capabilities_service';
import { DomainServiceClient } from '../../gen/hypervisor/v1/domain_service';
import { HotplugServiceClient } from '../../gen/hypervisor/v1/hotplug_service';

export interface HvClients {
  capabilities: CapabilitiesServiceClient;
  domains: DomainServiceClient;
  hotplug: HotplugServiceClient;
  close(): void;
}

/** Clients for every public service of the hvd listening on a unix socket. */
export function connect(socket: string, creds: ChannelCredentials = credentials.createInsecure()): HvClients {
  const address = `unix://${socket}`;
  const capabilities = new CapabilitiesServiceClient(address, creds);
  const domains = new DomainServiceClient(address, creds);
  const hotplug = new HotplugServiceClient(address, creds);
  return {
    capabilities,
    domains,
    hotplug,
    close: () => [capabilities, domains, hotplug].forEach((c) => c.close()),
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a grpc-js unary method as a promise: `await unaryCall(client.getDomain.bind(client), { domain })`. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: Partial<CallOptions> = {}): Promise<Res> {
  return new Promise((resolve, reject) =>
    method(request, new Metadata(), options, (err, response) => (err ? reject(err) : resolve(response))),
  );
}
