/**
 * Access to a real hvd process (issue 4, points 8 and 9): socket modes and group, the read-only socket, the TCP
 * listener with mutual TLS (certificates made here with openssl), image roots, and the standard health and
 * reflection services — checked with independent clients (grpc-health-check, grpc-js-reflection-client).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentials, makeGenericClientConstructor, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect, unaryCall, type HvClients } from '../../clients/hvctl/connect';
import { CapabilitiesServiceClient } from '../../gen/hypervisor/v1/capabilities_service';
import { DomainSpec, DomainType, type Domain } from '../../gen/hypervisor/v1/domain';
import { DomainServiceClient } from '../../gen/hypervisor/v1/domain_service';
import { fieldViolationsOf } from '../../server/src/errors';
import { ConsoleSession } from '../support/console-client';
import { HVD_MAIN, killGroup, waitFor } from '../support/hvd-process';
import { rejection } from '../support/domains';

const guests = inject('guests');
/** A group other than root's, so the chown is visible (adm is in every Debian /etc/group). */
const GROUP = 'adm';
const GROUP_ID = Number(execFileSync('getent', ['group', GROUP]).toString().split(':')[2]);

interface Hvd {
  dir: string;
  socket: string;
  roSocket: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A real hvd with extra flags, in a fresh directory (short paths: sockets stay under 108 bytes). */
async function startHvd(extra: (dir: string) => string[] = () => []): Promise<Hvd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-acc-'));
  const socket = path.join(dir, 'hvd.sock');
  const runDir = path.join(dir, 'run');
  const args = [HVD_MAIN, '--socket', socket, '--run-dir', runDir, '--state-dir', path.join(dir, 'state'), '--log-level', 'warn', ...extra(dir)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitFor(() => fs.existsSync(socket) && (fs.statSync(socket).mode & 0o777) === 0o660, 10_000, `hvd socket ${socket}`);
  await healthStatus(`unix://${socket}`, '');
  return {
    dir,
    socket,
    roSocket: path.join(dir, 'hvd-ro.sock'),
    child,
    stop: async () => {
      for (const d of fs.existsSync(runDir) ? fs.readdirSync(runDir) : []) {
        const pidFile = path.join(runDir, d, 'engine.pid');
        if (fs.existsSync(pidFile)) killGroup(Number(fs.readFileSync(pidFile, 'utf8')));
      }
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs hvd expecting it to refuse its configuration: resolves with its exit code and output. */
function hvdRefuses(args: string[]): { code: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-acc-'));
  try {
    execFileSync(process.execPath, [HVD_MAIN, '--socket', path.join(dir, 'hvd.sock'), '--run-dir', path.join(dir, 'run'), '--state-dir', path.join(dir, 'state'), ...args], {
      stdio: 'pipe',
      timeout: 20_000,
    });
    return { code: 0, output: '' };
  } catch (err) {
    const e = err as { status: number | null; stdout: Buffer; stderr: Buffer };
    expect(fs.existsSync(path.join(dir, 'hvd.sock'))).toBe(false);
    return { code: e.status, output: e.stdout.toString() + e.stderr.toString() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HealthClient = makeGenericClientConstructor(healthService, 'Health');
interface HealthStub {
  check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
  watch(req: { service: string }): NodeJS.EventEmitter;
  close(): void;
}
const healthClient = (address: string, creds: ChannelCredentials = credentials.createInsecure()) =>
  new HealthClient(address, creds) as unknown as HealthStub;

function healthStatus(address: string, service: string, creds?: ChannelCredentials): Promise<string> {
  const client = healthClient(address, creds);
  return new Promise<string>((resolve, reject) =>
    client.check({ service }, (err, res) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  ).finally(() => client.close());
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A CA, a server certificate for 127.0.0.1 and client certificates it signs (client; admin; viewer, named by a URI
 * subjectAltName); and a client from another CA.
 */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) openssl(dir, 'req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=hv test ${ca}`);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  fs.writeFileSync(path.join(dir, 'viewer.ext'), 'extendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://hv-test/viewer\n');
  const issue = (name: string, ca: string, ext: string) => {
    openssl(dir, 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext);
  };
  issue('server', 'ca', 'server.ext');
  issue('client', 'ca', 'client.ext');
  issue('admin', 'ca', 'client.ext');
  issue('viewer', 'ca', 'viewer.ext');
  issue('stranger', 'other-ca', 'client.ext');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('hvd with every access option', () => {
  let hvd: Hvd;
  let certs: string;
  let images: string;
  let port: number;
  let rw: HvClients;
  let ro: HvClients;
  let seq = 0;

  beforeAll(async () => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-certs-'));
    makeCertificates(certs);
    port = await freePort();
    hvd = await startHvd((dir) => {
      images = path.join(dir, 'images');
      fs.mkdirSync(images);
      fs.copyFileSync(guests.pvh, path.join(images, 'guest.elf'));
      fs.symlinkSync(guests.pvh, path.join(images, 'escape.elf'));
      return [
        '--socket-group', GROUP,
        '--listen', `127.0.0.1:${port}`,
        '--tls-cert', path.join(certs, 'server.crt'),
        '--tls-key', path.join(certs, 'server.key'),
        '--tls-ca', path.join(certs, 'ca.crt'),
        '--image-root', images,
      ];
    });
    rw = connect(hvd.socket);
    ro = connect(hvd.roSocket);
  });
  afterAll(async () => {
    rw?.close();
    ro?.close();
    await hvd?.stop();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  const spec = (kernelPath: string, cmdline = 'action=echo') =>
    DomainSpec.fromPartial({
      name: `acc${++seq}-${process.pid}`,
      type: DomainType.DOMAIN_TYPE_EMULATED,
      vcpus: { current: 1 },
      memory: { currentBytes: 32 << 20 },
      boot: { kernelPath, cmdline },
    });
  const create = async (clients: HvClients, s: DomainSpec, paused = false) =>
    (await unaryCall(clients.domains.createDomain.bind(clients.domains), { spec: s, paused, requestId: '' })).domain as Domain;
  const destroy = (clients: HvClients, domain: string) => unaryCall(clients.domains.destroyDomain.bind(clients.domains), { domain, requestId: '' });

  it('makes the main socket 0660 in the configured group and the read-only socket 0666', () => {
    const main = fs.statSync(hvd.socket);
    expect(main.mode & 0o777).toBe(0o660);
    expect(main.gid).toBe(GROUP_ID);
    expect(fs.statSync(hvd.roSocket).mode & 0o777).toBe(0o666);
  });

  it('answers grpc.health.v1 on every listener: hvd and each service SERVING', async () => {
    const tls = credentials.createSsl(
      fs.readFileSync(path.join(certs, 'ca.crt')),
      fs.readFileSync(path.join(certs, 'client.key')),
      fs.readFileSync(path.join(certs, 'client.crt')),
    );
    for (const [address, creds] of [[`unix://${hvd.socket}`, undefined], [`unix://${hvd.roSocket}`, undefined], [`127.0.0.1:${port}`, tls]] as const) {
      for (const service of ['', 'hypervisor.v1.CapabilitiesService', 'hypervisor.v1.DomainService', 'hypervisor.v1.HotplugService']) {
        expect(await healthStatus(address, service, creds)).toBe('SERVING');
      }
    }
  });

  it('serves reflection: the services, their methods, and the real file descriptors with their imports', async () => {
    for (const socket of [hvd.socket, hvd.roSocket]) {
      const reflection = new GrpcReflection(`unix://${socket}`, credentials.createInsecure(), {}, 'v1');
      expect((await reflection.listServices()).sort()).toEqual(
        [
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          'hypervisor.v1.CapabilitiesService',
          'hypervisor.v1.DomainService',
          'hypervisor.v1.HotplugService',
        ].sort(),
      );
    }
    const reflection = new GrpcReflection(`unix://${hvd.socket}`, credentials.createInsecure());
    const methods = (await reflection.listMethods('hypervisor.v1.DomainService')).map((m) => m.name);
    expect(methods).toEqual(expect.arrayContaining(['DefineDomain', 'CreateDomain', 'GetDomain', 'ListDomains', 'WatchEvents', 'StreamConsole']));
    const file = await reflection.getDescriptorByFileName('hypervisor/v1/domain_service.proto');
    const root = file.getProtobufJsRoot();
    expect(root.lookupType('hypervisor.v1.CreateDomainRequest').fields.spec.resolvedType?.fullName).toBe('.hypervisor.v1.DomainSpec');
    expect(root.lookupType('google.protobuf.Timestamp')).toBeDefined();
  });

  it('read-only socket: reads and console output pass; mutations and console input are PERMISSION_DENIED', async () => {
    const domain = await create(rw, spec(path.join(images, 'guest.elf')), true);
    const got = (await unaryCall(ro.domains.getDomain.bind(ro.domains), { domain: domain.id })).domain!;
    expect(got.id).toBe(domain.id);
    expect((await unaryCall(ro.capabilities.getCapabilities.bind(ro.capabilities), {})).capabilities).toBeDefined();

    const console = new ConsoleSession(ro.domains, { domain: domain.id });
    await unaryCall(rw.domains.resumeDomain.bind(rw.domains), { domain: domain.id, requestId: '' });
    await console.waitFor(/hv-guest: cmdline=action=echo/);

    const denied = await rejection(destroy(ro, domain.id));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.details).toBe('hypervisor.v1.DomainService/DestroyDomain is not allowed on the read-only socket');
    const createDenied = await rejection(create(ro, spec(path.join(images, 'guest.elf'))));
    expect(createDenied.code).toBe(status.PERMISSION_DENIED);
    expect(createDenied.details).toMatch(/DomainService\/CreateDomain/);

    const writer = new ConsoleSession(ro.domains, { domain: domain.id, input: true });
    const refused = await writer.ended;
    expect(refused.error?.code).toBe(status.PERMISSION_DENIED);
    expect(refused.error?.details).toMatch(/StreamConsole opens the console with open\.input=true/);

    console.send('x');
    const ended = await console.ended;
    expect(ended.error?.code).toBe(status.PERMISSION_DENIED);
    expect(ended.error?.details).toMatch(/StreamConsole sends console input/);

    expect((await unaryCall(rw.domains.getDomain.bind(rw.domains), { domain: domain.id })).domain!.status!.enginePid).toBeGreaterThan(0);
    await destroy(rw, domain.id);
  });

  describe('TCP with mutual TLS', () => {
    const capabilities = (creds: ChannelCredentials) => {
      const client = new CapabilitiesServiceClient(`127.0.0.1:${port}`, creds);
      return unaryCall(client.getCapabilities.bind(client), {}, { deadline: Date.now() + 5000 }).finally(() => client.close());
    };
    const read = (name: string) => fs.readFileSync(path.join(certs, name));

    it('serves the full API to a client with a certificate from the configured CA', async () => {
      const { capabilities: caps } = await capabilities(credentials.createSsl(read('ca.crt'), read('client.key'), read('client.crt')));
      expect(caps?.host?.memoryBytes).toBe(os.totalmem());
    });

    it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
      for (const creds of [credentials.createSsl(read('ca.crt')), credentials.createSsl(read('ca.crt'), read('stranger.key'), read('stranger.crt'))]) {
        const err = await rejection(capabilities(creds));
        expect(err.code).toBe(status.UNAVAILABLE);
      }
    });

    it('refuses plaintext', async () => {
      const err = await rejection(capabilities(credentials.createInsecure()));
      expect(err.code).toBe(status.UNAVAILABLE);
    });
  });

  describe('image roots', () => {
    const violation = async (kernelPath: string) => {
      const err = await rejection(create(rw, spec(kernelPath)));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      return fieldViolationsOf(err).map(({ field, description }) => ({ field, description }));
    };

    it('boots a kernel inside the root', async () => {
      const domain = await create(rw, spec(path.join(images, 'guest.elf')));
      await destroy(rw, domain.id);
    });

    it('refuses kernels outside the root, through an escaping symlink, with "..", or a device node, naming the field', async () => {
      expect(await violation(guests.pvh)).toEqual([{ field: 'spec.boot.kernel_path', description: expect.stringMatching(/outside the image roots/) }]);
      expect(await violation(path.join(images, 'escape.elf'))).toEqual([
        { field: 'spec.boot.kernel_path', description: expect.stringMatching(/resolves to ".*guest\.elf", which is outside the image roots/) },
      ]);
      expect(await violation(`${images}/../images/guest.elf`)).toEqual([{ field: 'spec.boot.kernel_path', description: expect.stringMatching(/"\.\."/) }]);
      expect(await violation('/dev/zero')).toEqual([{ field: 'spec.boot.kernel_path', description: expect.stringMatching(/outside the image roots/) }]);
    });
  });
});

describe('mTLS client allow-lists', () => {
  let hvd: Hvd;
  let certs: string;
  let port: number;

  beforeAll(async () => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-certs-'));
    makeCertificates(certs);
    port = await freePort();
    hvd = await startHvd(() => [
      '--listen', `127.0.0.1:${port}`,
      '--tls-cert', path.join(certs, 'server.crt'),
      '--tls-key', path.join(certs, 'server.key'),
      '--tls-ca', path.join(certs, 'ca.crt'),
      '--tls-allow', 'CN:admin',
      '--tls-allow-read-only', 'URI:spiffe://hv-test/viewer',
    ]);
  });
  afterAll(async () => {
    await hvd?.stop();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  const as = (name: string) => {
    const read = (file: string) => fs.readFileSync(path.join(certs, file));
    return new DomainServiceClient(`127.0.0.1:${port}`, credentials.createSsl(read('ca.crt'), read(`${name}.key`), read(`${name}.crt`)));
  };
  const spec = () =>
    DomainSpec.fromPartial({ name: `tls-${process.pid}`, type: DomainType.DOMAIN_TYPE_EMULATED, vcpus: { current: 1 }, memory: { currentBytes: 32 << 20 }, boot: { kernelPath: guests.pvh, cmdline: 'action=hlt' } });
  const calls = (domains: DomainServiceClient) => ({
    list: () => unaryCall(domains.listDomains.bind(domains), { pageSize: 10, pageToken: '', states: [] }),
    create: () => unaryCall(domains.createDomain.bind(domains), { spec: spec(), paused: false, requestId: '' }),
    destroy: (domain: string) => unaryCall(domains.destroyDomain.bind(domains), { domain, requestId: '' }),
  });

  it('gives a certificate whose subject CN is on --tls-allow the full API', async () => {
    const admin = as('admin');
    const created = (await calls(admin).create()).domain!;
    expect(created.status!.enginePid).toBeGreaterThan(0);
    await calls(admin).destroy(created.id);
    admin.close();
  });

  it('limits a certificate whose URI subjectAltName is on --tls-allow-read-only to reading', async () => {
    const viewer = as('viewer');
    expect((await calls(viewer).list()).domains).toBeDefined();
    const err = await rejection(calls(viewer).create());
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/CreateDomain is not allowed for client certificate .*URI:spiffe:\/\/hv-test\/viewer/);
    viewer.close();
  });

  it('refuses a CA-signed certificate on neither list with PERMISSION_DENIED naming its identity; the unix socket is not affected', async () => {
    const client = as('client');
    const err = await rejection(calls(client).list());
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toMatch(/client certificate CN:client is not on --tls-allow/);
    client.close();
    const local = connect(hvd.socket);
    expect((await calls(local.domains).list()).domains).toBeDefined();
    local.close();
  });

  it('will not start with a malformed identity, or allow-lists without --listen', () => {
    expect(hvdRefuses(['--tls-allow', 'admin']).output).toMatch(/--tls-allow \W*admin\W*: expected CN:<value>/);
    expect(hvdRefuses(['--tls-allow-read-only', 'CN:x']).output).toMatch(/only meaningful with --listen/);
  });
});

describe('hvd refuses unsafe or broken access configuration', () => {
  it('will not listen on TCP without mutual TLS', () => {
    const { code, output } = hvdRefuses(['--listen', '127.0.0.1:0']);
    expect(code).toBe(1);
    expect(output).toMatch(/TCP listener is served only with mutual TLS: --tls-cert, --tls-key, --tls-ca are missing/);
    expect(hvdRefuses(['--tls-cert', '/x.pem']).output).toMatch(/only meaningful with --listen/);
  });

  it('will not start with an unknown socket group, a missing image root or a bad overcommit ratio', () => {
    expect(hvdRefuses(['--socket-group', 'no-such-group-hv']).output).toMatch(/unknown group .*no-such-group-hv/);
    expect(hvdRefuses(['--image-root', '/nonexistent/hv-images']).output).toMatch(/--image-root \/nonexistent\/hv-images/);
    expect(hvdRefuses(['--vcpu-overcommit', '0']).output).toMatch(/--vcpu-overcommit 0: expected a ratio greater than 0/);
  });
});

describe('shutdown', () => {
  it('turns health NOT_SERVING for watchers when hvd gets SIGTERM, and removes both sockets', async () => {
    const hvd = await startHvd((dir) => ['--ro-socket', path.join(dir, 'look.sock')]);
    const roSocket = path.join(hvd.dir, 'look.sock');
    expect(fs.statSync(roSocket).isSocket()).toBe(true);
    const client = healthClient(`unix://${hvd.socket}`);
    const seen: string[] = [];
    const stream = client.watch({ service: 'hypervisor.v1.DomainService' });
    stream.on('data', (res: { status: string }) => seen.push(res.status));
    stream.on('error', () => undefined);
    await expect.poll(() => seen).toEqual(['SERVING']);
    hvd.child.kill('SIGTERM');
    await new Promise((r) => hvd.child.once('exit', r));
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    expect(fs.existsSync(hvd.socket)).toBe(false);
    expect(fs.existsSync(roSocket)).toBe(false);
    client.close();
    await hvd.stop();
  });
});
