import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MAIN_SOCKET_MODE, READ_ONLY_SOCKET_MODE, TlsClientPolicy, applySocketAccess, mutualTlsCredentials, parseListenAddress, resolveGroup } from '../access';
import type { TlsFiles } from '../access';
import { readOnlyInterceptor } from './read-only-interceptor';
import { StandardServices } from './standard-services';
import { tlsClientInterceptor } from './tls-client-interceptor';

export interface ApiServerConfig {
  /** The main (full access) unix socket. */
  socket: string;
  /** Group given to the main socket (name or number). */
  socketGroup?: string;
  /** The read-only unix socket, if any. */
  roSocket?: string;
  /** TCP "host:port", full access, mutual TLS only. */
  listen?: string;
  tls?: TlsFiles;
  /** Client certificate identities with full / read-only access on TCP (both empty: any CA-signed certificate). */
  tlsAllow?: string[];
  tlsAllowReadOnly?: string[];
  /** How long stop() lets calls finish before cancelling them (open streams never finish by themselves). */
  shutdownGraceMs?: number;
  logger: Logger;
}

/** Where the API is served once started. */
export interface ApiEndpoints {
  socket: string;
  roSocket?: string;
  /** "host:port" with the port actually bound. */
  tcp?: string;
}

/** Socket files are created with no access at all for others, then opened up with chmod/chown. */
const BIND_UMASK = 0o177;
const DEFAULT_SHUTDOWN_GRACE_MS = 2000;

/**
 * hvd's listeners: one grpc-js server for full access (the main unix socket, and the mTLS TCP listener when asked),
 * and one for the read-only socket, whose only difference is the read-only interceptor. Both serve the same service
 * implementation objects and the standard health and reflection services.
 */
export class ApiServer {
  private readonly main: Server;
  private readonly readOnly: Server | undefined;
  private readonly serviceNames: string[] = [];
  private standard: StandardServices | undefined;
  private readonly gid: number | undefined;
  private readonly tcpCredentials: ServerCredentials | undefined;

  constructor(private readonly config: ApiServerConfig) {
    // Configuration mistakes stop hvd before it listens anywhere.
    this.gid = config.socketGroup !== undefined ? resolveGroup(config.socketGroup) : undefined;
    if (config.listen !== undefined) {
      parseListenAddress(config.listen);
      this.tcpCredentials = mutualTlsCredentials(config.tls ?? {});
    } else if (config.tls && (config.tls.cert || config.tls.key || config.tls.ca)) {
      throw new Error('--tls-cert/--tls-key/--tls-ca are only meaningful with --listen');
    }
    const clients = new TlsClientPolicy(config.tlsAllow ?? [], config.tlsAllowReadOnly ?? []);
    if (clients.restricts && config.listen === undefined) throw new Error('--tls-allow/--tls-allow-read-only are only meaningful with --listen');
    this.main = new Server(clients.restricts ? { interceptors: [tlsClientInterceptor(clients)] } : {});
    if (config.roSocket !== undefined && path.resolve(config.roSocket) === path.resolve(config.socket)) {
      throw new Error('--ro-socket must differ from --socket');
    }
    this.readOnly = config.roSocket !== undefined ? new Server({ interceptors: [readOnlyInterceptor()] }) : undefined;
  }

  /** Serves a service on every listener (the read-only one filters it). */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.main.addService(definition, implementation);
    this.readOnly?.addService(definition, implementation);
    const first = Object.values(definition)[0];
    if (first) this.serviceNames.push(first.path.split('/')[1]);
  }

  /**
   * Makes sure no other hvd serves these sockets (one that answers → throws) and removes files left by a dead one.
   * Call before taking over anything else (engines, database).
   */
  async claimSockets(): Promise<void> {
    for (const socket of [this.config.socket, this.config.roSocket]) if (socket) await removeStaleSocket(socket);
  }

  async start(): Promise<ApiEndpoints> {
    this.standard = new StandardServices(this.serviceNames);
    this.standard.addTo(this.main);
    if (this.readOnly) this.standard.addTo(this.readOnly);

    const endpoints: ApiEndpoints = { socket: this.config.socket };
    await bindUnix(this.main, this.config.socket);
    applySocketAccess(this.config.socket, MAIN_SOCKET_MODE, this.gid);
    if (this.readOnly && this.config.roSocket) {
      await bindUnix(this.readOnly, this.config.roSocket);
      applySocketAccess(this.config.roSocket, READ_ONLY_SOCKET_MODE);
      endpoints.roSocket = this.config.roSocket;
    }
    if (this.config.listen !== undefined && this.tcpCredentials) {
      const { host } = parseListenAddress(this.config.listen);
      const port = await bind(this.main, this.config.listen, this.tcpCredentials);
      endpoints.tcp = `${host}:${port}`;
    }
    this.standard.setServing(true);
    this.config.logger.debug({ ...endpoints }, 'API listeners bound');
    return endpoints;
  }

  /**
   * Stops serving: health turns NOT_SERVING first (watchers see it), new calls are refused, calls in progress get
   * the grace period, then whatever is still open (console and event streams) is cancelled. Socket files are removed.
   */
  async stop(): Promise<void> {
    this.standard?.setServing(false);
    const grace = this.config.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    await Promise.all([this.main, this.readOnly].filter((s): s is Server => s !== undefined).map((s) => shutdown(s, grace)));
    fs.rmSync(this.config.socket, { force: true });
    if (this.config.roSocket) fs.rmSync(this.config.roSocket, { force: true });
  }
}

async function bindUnix(server: Server, socket: string): Promise<void> {
  fs.mkdirSync(path.dirname(socket), { recursive: true });
  await removeStaleSocket(socket);
  const umask = process.umask(BIND_UMASK);
  try {
    await bind(server, `unix://${socket}`, ServerCredentials.createInsecure());
  } finally {
    process.umask(umask);
  }
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A socket file nobody answers on is left over from a dead hvd; one that answers means hvd already runs. */
export async function removeStaleSocket(socket: string): Promise<void> {
  if (!fs.existsSync(socket)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socket, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (alive) throw new Error(`another hvd is already serving ${socket}`);
  fs.rmSync(socket, { force: true });
}
