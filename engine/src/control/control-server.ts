import * as fs from 'node:fs';
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  EngineServiceService,
  type EngineCounters,
  type EngineServiceServer,
  type GuestStop,
  type StreamConsoleRequest,
  type StreamConsoleResponse,
  type WatchEventsResponse,
} from '../../../gen/hypervisor/engine/v1/engine_service';
import type { DomainSpec, DomainStateReason, DomainStatus } from '../../../gen/hypervisor/v1/domain';
import { ConsoleInputBusyError, type ConsoleClient, type ConsoleHub } from '../console';

/** What the control socket exposes of a running VM. */
export interface EngineHost {
  readonly domainId: string;
  readonly spec: DomainSpec;
  readonly console: ConsoleHub;
  status(): DomainStatus;
  /** How the guest stopped, while PRESERVE keeps the engine. */
  preserved(): GuestStop | undefined;
  /** Subscribes to engine events (WatchEvents); returns the unsubscribe. */
  watch(listener: (event: WatchEventsResponse) => void): () => void;
  counters(): EngineCounters;
  pause(): void;
  resume(reason: DomainStateReason): void;
  pressPowerButton(): void;
  reset(): Promise<void>;
}

/** A console reader this far behind is dropped rather than letting the engine buffer without bound. */
const MAX_BUFFERED_CONSOLE_BYTES = 4 << 20;

/** Serves EngineService on the engine's unix control socket. */
export async function startControlServer(socketPath: string, host: EngineHost): Promise<Server> {
  fs.rmSync(socketPath, { force: true });
  const server = new Server();
  const impl: EngineServiceServer = {
    getState: (_call, callback) => {
      callback(null, { domainId: host.domainId, spec: host.spec, status: host.status(), counters: host.counters(), preserved: host.preserved() });
    },
    watchEvents: (call) => {
      const preserved = host.preserved();
      if (preserved) call.write({ kind: { $case: 'preserved', value: preserved } });
      const unsubscribe = host.watch((event) => call.write(event));
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
    },
    streamConsole: (call) => serveConsole(call, host.console),
    pause: (_call, callback) => {
      host.pause();
      callback(null, { status: host.status() });
    },
    resume: (call, callback) => {
      host.resume(call.request.reason);
      callback(null, { status: host.status() });
    },
    reset: (_call, callback) => {
      host.reset().then(
        () => callback(null, { status: host.status() }),
        (err: Error) => callback({ code: status.INTERNAL, details: `reset failed: ${err.message}` }),
      );
    },
    powerButton: (_call, callback) => {
      host.pressPowerButton();
      callback(null, {});
    },
  };
  server.addService(EngineServiceService, impl);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}

function serveConsole(call: ServerDuplexStream<StreamConsoleRequest, StreamConsoleResponse>, hub: ConsoleHub): void {
  let attached = false;
  const client: ConsoleClient = {
    send: (output) => {
      if (call.writableLength > MAX_BUFFERED_CONSOLE_BYTES) {
        hub.detach(client);
        call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'console reader fell too far behind' });
        return;
      }
      call.write({ kind: { $case: 'output', value: output } });
    },
    revokeInput: () => call.write({ kind: { $case: 'inputRevoked', value: true } }),
    close: () => call.end(),
  };
  const fail = (code: status, details: string) => {
    hub.detach(client);
    call.emit('error', { code, details });
  };
  call.on('data', (request: StreamConsoleRequest) => {
    const kind = request.kind;
    if (!attached) {
      if (kind?.$case !== 'attach') return fail(status.INVALID_ARGUMENT, 'the first console message must attach');
      try {
        hub.attach(client, kind.value);
        attached = true;
      } catch (err) {
        fail(status.FAILED_PRECONDITION, (err as Error).message);
      }
      return;
    }
    if (kind?.$case !== 'input') return fail(status.INVALID_ARGUMENT, 'only input may follow the attach message');
    try {
      hub.input(client, kind.value);
    } catch (err) {
      if (err instanceof ConsoleInputBusyError) return fail(status.FAILED_PRECONDITION, err.message);
      throw err;
    }
  });
  // A client that half-closes keeps reading; it is detached when it goes away or the stream finishes.
  const detach = () => hub.detach(client);
  call.on('cancelled', detach);
  call.on('finish', detach);
}
