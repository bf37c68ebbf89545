import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { CapabilitiesServiceService } from '../../gen/hypervisor/v1/capabilities_service';
import { DomainServiceService } from '../../gen/hypervisor/v1/domain_service';
import { HotplugServiceService } from '../../gen/hypervisor/v1/hotplug_service';
import { MAX_CMDLINE_BYTES } from '../../engine/src/boot';
import { MIN_RAM_BYTES } from '../../engine/src/platform/layout';
import { checkKernel } from './domains/check-kernel';
import { DomainManager } from './domains/domain-manager';
import { DomainRegistry } from './domains/domain-registry';
import { defaultEngineMain } from './engine/engine-process';
import { createHostProbe } from './host';
import { createCapabilitiesService } from './services/capabilities-service';
import { domainTypeLimits } from './services/domain-limits';
import { createDomainService } from './services/domain-service';
import { createHotplugService } from './services/hotplug-service';

export interface HvdConfig {
  /** The main API socket. */
  socket: string;
  /** Where engines get their run directories. */
  runDir: string;
  /** Compiled engine entry point. */
  engineMain?: string;
  logger?: Logger;
}

/** hvd: the API server on its unix socket, the domain registry, and the engines it spawns. */
export class Hvd {
  private readonly server = new Server();
  readonly logger: Logger;
  readonly manager: DomainManager;

  constructor(private readonly config: HvdConfig) {
    this.logger = config.logger ?? pino({ name: 'hvd' });
    const probe = createHostProbe();
    this.manager = new DomainManager({
      registry: new DomainRegistry(),
      runRoot: config.runDir,
      engineMain: config.engineMain ?? defaultEngineMain(),
      specContext: {
        limits: (type) => domainTypeLimits(probe.host(), type),
        checkKernel,
        maxCmdlineBytes: MAX_CMDLINE_BYTES - 1,
        minMemoryBytes: MIN_RAM_BYTES,
      },
      hostMemoryBytes: () => probe.host().memoryBytes,
      logger: this.logger,
    });
    this.server.addService(CapabilitiesServiceService, createCapabilitiesService(probe));
    this.server.addService(DomainServiceService, createDomainService(this.manager));
    this.server.addService(HotplugServiceService, createHotplugService());
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.config.runDir, { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.dirname(this.config.socket), { recursive: true });
    await removeStaleSocket(this.config.socket);
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(`unix://${this.config.socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    fs.chmodSync(this.config.socket, 0o660);
    this.logger.info({ socket: this.config.socket, runDir: this.config.runDir }, 'hvd listening');
  }

  /** Stops serving; running engines are left running (they are detached and outlive hvd). */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    fs.rmSync(this.config.socket, { force: true });
  }
}

/** A socket file nobody answers on is left over from a dead hvd; one that answers means hvd already runs. */
async function removeStaleSocket(socket: string): Promise<void> {
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
