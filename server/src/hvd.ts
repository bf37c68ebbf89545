import * as fs from 'node:fs';
import pino, { type Logger } from 'pino';
import { CapabilitiesServiceService } from '../../gen/hypervisor/v1/capabilities_service';
import { DomainServiceService } from '../../gen/hypervisor/v1/domain_service';
import { HotplugServiceService } from '../../gen/hypervisor/v1/hotplug_service';
import { MAX_CMDLINE_BYTES } from '../../engine/src/boot';
import { MIN_RAM_BYTES } from '../../engine/src/platform/layout';
import { defaultReadOnlySocket, ImageRoots, type AccessConfig } from './access';
import { checkKernel } from './domains/check-kernel';
import { DomainManager } from './domains/domain-manager';
import { DomainRegistry } from './domains/domain-registry';
import { recover } from './domains/recover';
import { EventLog } from './events/event-log';
import { RequestLog } from './store/request-log';
import { Store } from './store/store';
import { defaultEngineMain } from './engine/engine-process';
import { ApiServer } from './grpc';
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
  /** Where hvd keeps its database (persistent domains, request results, events). */
  stateDir: string;
  /** Compiled engine entry point. */
  engineMain?: string;
  /** Sockets, TCP+mTLS, image roots, overcommit (server/src/access). */
  access?: AccessConfig;
  logger?: Logger;
}

/** hvd: the API server on its unix socket, the domain registry, and the engines it spawns. */
export class Hvd {
  private readonly api: ApiServer;
  readonly imageRoots: ImageRoots;
  readonly logger: Logger;
  readonly manager: DomainManager;
  private readonly store: Store;

  constructor(private readonly config: HvdConfig) {
    this.logger = config.logger ?? pino({ name: 'hvd' });
    const access = config.access ?? {};
    this.imageRoots = new ImageRoots(access.imageRoots ?? []);
    const imageRoots = this.imageRoots;
    this.api = new ApiServer({
      socket: config.socket,
      socketGroup: access.socketGroup,
      roSocket: access.roSocket === false ? undefined : (access.roSocket ?? defaultReadOnlySocket(config.socket)),
      listen: access.listen,
      tls: access.tls,
      tlsAllow: access.tlsAllow,
      tlsAllowReadOnly: access.tlsAllowReadOnly,
      logger: this.logger,
    });
    const probe = createHostProbe();
    this.store = new Store(config.stateDir);
    const events = new EventLog(this.store);
    this.manager = new DomainManager({
      registry: new DomainRegistry(),
      store: this.store,
      events,
      runRoot: config.runDir,
      engineMain: config.engineMain ?? defaultEngineMain(),
      specContext: {
        limits: (type) => domainTypeLimits(probe.host(), type),
        checkKernel,
        maxCmdlineBytes: MAX_CMDLINE_BYTES - 1,
        minMemoryBytes: MIN_RAM_BYTES,
        checkPath: (_field, file) => imageRoots.check(file),
      },
      hostCapacity: () => ({ cpus: probe.host().topology.onlineCpus, memoryBytes: probe.host().memoryBytes }),
      overcommit: access.overcommit,
      openImage: (file, readOnly) => imageRoots.open(file, readOnly),
      logger: this.logger,
    });
    this.api.addService(CapabilitiesServiceService, createCapabilitiesService(probe, { engineMain: config.engineMain ?? defaultEngineMain() }));
    this.api.addService(DomainServiceService, createDomainService(this.manager, events, new RequestLog(this.store)));
    this.api.addService(HotplugServiceService, createHotplugService());
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.config.runDir, { recursive: true, mode: 0o755 });
    await this.api.claimSockets();
    await recover(this.manager, this.config.runDir, this.logger);
    const endpoints = await this.api.start();
    if (this.imageRoots.roots.length === 0) this.logger.info('no --image-root: image paths are not confined to directories');
    this.logger.info({ ...endpoints, runDir: this.config.runDir, stateDir: this.config.stateDir }, 'hvd listening');
  }

  /** Stops serving; running engines are left running (they are detached and outlive hvd). */
  async stop(): Promise<void> {
    await this.api.stop();
    this.store.close();
  }
}
