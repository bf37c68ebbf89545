/**
 * ApiServer in process, with stub service implementations: the standard services (health, reflection) and the
 * read-only socket's interceptor, checked with independent clients (grpc-health-check, grpc-js-reflection-client)
 * and the generated client.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentials, makeGenericClientConstructor, status, type ServiceError, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { GrpcReflection } from 'grpc-js-reflection-client';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unaryCall } from '../../../clients/hvctl/connect';
import {
  DomainServiceClient,
  DomainServiceService,
  type CreateDomainRequest,
  type CreateDomainResponse,
  type GetDomainRequest,
  type GetDomainResponse,
  type StreamConsoleRequest,
  type StreamConsoleResponse,
} from '../../../gen/hypervisor/v1/domain_service';
import { DomainSpec } from '../../../gen/hypervisor/v1/domain';
import { ApiServer } from '../../../server/src/grpc';
import { rejection } from '../../support/domains';

let dir: string;
let server: ApiServer | undefined;
const calls: string[] = [];
let consoleCancelled = false;

/** A DomainService that records what reached it. */
const stubDomainService = {
  getDomain: (call: ServerUnaryCall<GetDomainRequest, GetDomainResponse>, cb: sendUnaryData<GetDomainResponse>) => {
    calls.push(`get ${call.request.domain}`);
    cb(null, { domain: undefined });
  },
  createDomain: (call: ServerUnaryCall<CreateDomainRequest, CreateDomainResponse>, cb: sendUnaryData<CreateDomainResponse>) => {
    calls.push(`create ${call.request.spec?.name}`);
    cb(null, { domain: undefined });
  },
  streamConsole: (call: ServerDuplexStream<StreamConsoleRequest, StreamConsoleResponse>) => {
    call.on('cancelled', () => (consoleCancelled = true));
    call.on('data', (request: StreamConsoleRequest) => {
      calls.push(`console ${request.kind?.$case}`);
      if (request.kind?.$case === 'open') call.write({ kind: { $case: 'output', value: Buffer.from('hello') } });
    });
  },
};

async function startServer(extra: { socketGroup?: string } = {}) {
  server = new ApiServer({
    socket: path.join(dir, 'hvd.sock'),
    roSocket: path.join(dir, 'hvd-ro.sock'),
    shutdownGraceMs: 200,
    logger: pino({ level: 'silent' }),
    ...extra,
  });
  server.addService(DomainServiceService, stubDomainService);
  return server.start();
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-api-'));
  calls.length = 0;
  consoleCancelled = false;
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const HealthClient = makeGenericClientConstructor(healthService, 'Health');
type HealthCheck = (req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void) => void;

function healthStatus(socket: string, service: string): Promise<string> {
  const client = new HealthClient(`unix://${socket}`, credentials.createInsecure());
  return new Promise<string>((resolve, reject) =>
    (client as unknown as { check: HealthCheck }).check({ service }, (err, res) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  );
}

describe('sockets', () => {
  it('binds the main socket 0660 and the read-only socket 0666, the main one in the configured group', async () => {
    const endpoints = await startServer({ socketGroup: '4' });
    expect(endpoints.roSocket).toBe(path.join(dir, 'hvd-ro.sock'));
    const main = fs.statSync(endpoints.socket);
    expect(main.isSocket()).toBe(true);
    expect(main.mode & 0o777).toBe(0o660);
    expect(main.gid).toBe(4);
    expect(fs.statSync(endpoints.roSocket!).mode & 0o777).toBe(0o666);
  });

  it('refuses an unknown group before binding anything', () => {
    expect(() => new ApiServer({ socket: path.join(dir, 'x.sock'), socketGroup: 'no-such-group-hv', logger: pino({ level: 'silent' }) })).toThrow(
      /unknown group "no-such-group-hv"/,
    );
    expect(fs.existsSync(path.join(dir, 'x.sock'))).toBe(false);
  });

  it('refuses a TCP listener without the three TLS files', () => {
    expect(() => new ApiServer({ socket: path.join(dir, 'x.sock'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) })).toThrow(
      /mutual TLS: --tls-cert, --tls-key, --tls-ca are missing/,
    );
  });
});

describe('health', () => {
  it('reports hvd ("") and each service SERVING on both sockets, NOT_FOUND for unknown services', async () => {
    const { socket, roSocket } = await startServer();
    for (const s of [socket, roSocket!]) {
      expect(await healthStatus(s, '')).toBe('SERVING');
      expect(await healthStatus(s, 'hypervisor.v1.DomainService')).toBe('SERVING');
    }
    expect((await rejection(healthStatus(socket, 'no.such.Service'))).code).toBe(status.NOT_FOUND);
  });

  it('turns NOT_SERVING for watchers when the server stops', async () => {
    const { socket } = await startServer();
    const client = new HealthClient(`unix://${socket}`, credentials.createInsecure());
    const seen: string[] = [];
    const stream = (client as unknown as { watch: (req: { service: string }) => NodeJS.EventEmitter }).watch({ service: '' });
    stream.on('data', (res: { status: string }) => seen.push(res.status));
    stream.on('error', () => undefined);
    await expect.poll(() => seen).toEqual(['SERVING']);
    await server!.stop();
    server = undefined;
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    client.close();
  });
});

describe('reflection', () => {
  it.each(['v1', 'v1alpha'])('lists the services and serves the real descriptors (%s)', async (version) => {
    const { socket } = await startServer();
    const reflection = new GrpcReflection(`unix://${socket}`, credentials.createInsecure(), {}, version);
    const services = await reflection.listServices();
    expect(services).toEqual(
      expect.arrayContaining([
        'hypervisor.v1.CapabilitiesService',
        'hypervisor.v1.DomainService',
        'hypervisor.v1.HotplugService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]),
    );
    const methods = (await reflection.listMethods('hypervisor.v1.DomainService')).map((m) => m.name);
    expect(methods).toEqual(expect.arrayContaining(['CreateDomain', 'GetDomain', 'StreamConsole', 'WatchEvents']));
    const file = await reflection.getDescriptorByFileName('hypervisor/v1/domain_service.proto');
    expect(file.getProtobufJsRoot().lookupService('hypervisor.v1.DomainService').methods.StreamConsole.requestStream).toBe(true);
  });
});

describe('read-only socket', () => {
  it('lets reads through and refuses mutations with PERMISSION_DENIED naming the RPC, before the handler runs', async () => {
    const { socket, roSocket } = await startServer();
    const ro = new DomainServiceClient(`unix://${roSocket}`, credentials.createInsecure());
    const rw = new DomainServiceClient(`unix://${socket}`, credentials.createInsecure());
    await unaryCall(ro.getDomain.bind(ro), { domain: 'a' });
    const denied = await rejection(unaryCall(ro.createDomain.bind(ro), { spec: DomainSpec.fromPartial({ name: 'b' }), paused: false, requestId: '' }));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/hypervisor\.v1\.DomainService\/CreateDomain is not allowed on the read-only socket/);
    await unaryCall(rw.createDomain.bind(rw), { spec: DomainSpec.fromPartial({ name: 'c' }), paused: false, requestId: '' });
    expect(calls).toEqual(['get a', 'create c']);
    ro.close();
    rw.close();
  });

  it('lets a console be read, and ends it with PERMISSION_DENIED when it sends input', async () => {
    const { roSocket } = await startServer();
    const ro = new DomainServiceClient(`unix://${roSocket}`, credentials.createInsecure());
    const stream = ro.streamConsole();
    const output: string[] = [];
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', (m: StreamConsoleResponse) => m.kind?.$case === 'output' && output.push(m.kind.value.toString()));
    stream.write({ kind: { $case: 'open', value: { domain: 'a', input: false, force: false, skipScrollback: false, device: '' } } });
    await expect.poll(() => output).toEqual(['hello']);
    stream.write({ kind: { $case: 'input', value: Buffer.from('x') } });
    const err = await ended;
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/StreamConsole sends console input/);
    expect(calls).toEqual(['console open']);
    await expect.poll(() => consoleCancelled).toBe(true);
    ro.close();
  });

  it('refuses to open a console for input', async () => {
    const { roSocket } = await startServer();
    const ro = new DomainServiceClient(`unix://${roSocket}`, credentials.createInsecure());
    const stream = ro.streamConsole();
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.write({ kind: { $case: 'open', value: { domain: 'a', input: true, force: false, skipScrollback: false, device: '' } } });
    const err = await ended;
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/open\.input=true/);
    expect(calls).toEqual([]);
    ro.close();
  });
});
