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
import { BALLOON_PAGE_SIZE } from '../virtio/balloon';
import type { AttachedBalloon } from '../vm/attach-virtio-devices';
import { balloonStats } from './balloon-stats';

/** What the control socket exposes of a running VM. */
export interface EngineHost {
  readonly domainId: string;
  readonly spec: DomainSpec;
  /** A console by device id ('' = the serial console); undefined when the domain has no such console device. */
  console(device: string): ConsoleHub | undefined;
  readonly balloon: AttachedBalloon | undefined;
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
      const balloon = host.balloon ? balloonStats(host.balloon.id, host.balloon.device) : undefined;
      callback(null, { domainId: host.domainId, spec: host.spec, status: host.status(), counters: host.counters(), balloon, preserved: host.preserved() });
    },
    watchEvents: (call) => {
      const preserved = host.preserved();
      if (preserved) call.write({ kind: { $case: 'preserved', value: preserved } });
      const unsubscribe = host.watch((event) => call.write(event));
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
    },
    streamConsole: (call) => serveConsole(call, host),
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
    setBalloonTarget: (call, callback) => {
      const balloon = host.balloon;
      const target = call.request.targetBytes;
      const memory = host.spec.memory?.currentBytes ?? 0;
      if (!balloon) return callback({ code: status.FAILED_PRECONDITION, details: 'the domain has no balloon device' });
      if (target % BALLOON_PAGE_SIZE !== 0 || target > memory) {
        return callback({ code: status.INVALID_ARGUMENT, details: `target_bytes must be a multiple of ${BALLOON_PAGE_SIZE} and at most the domain's ${memory} bytes of memory` });
      }
      balloon.device.setTarget(target / BALLOON_PAGE_SIZE);
      callback(null, { balloon: balloonStats(balloon.id, balloon.device) });
    },
  };
  server.addService(EngineServiceService, impl);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}

function serveConsole(call: ServerDuplexStream<StreamConsoleRequest, StreamConsoleResponse>, host: EngineHost): void {
  let attached = false;
  let hub: ConsoleHub | undefined;
  const client: ConsoleClient = {
    send: (output) => {
      if (call.writableLength > MAX_BUFFERED_CONSOLE_BYTES) {
        hub?.detach(client);
        call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: 'console reader fell too far behind' });
        return;
      }
      call.write({ kind: { $case: 'output', value: output } });
    },
    revokeInput: () => call.write({ kind: { $case: 'inputRevoked', value: true } }),
    close: () => call.end(),
  };
  const fail = (code: status, details: string) => {
    hub?.detach(client);
    call.emit('error', { code, details });
  };
  call.on('data', (request: StreamConsoleRequest) => {
    const kind = request.kind;
    if (!attached) {
      if (kind?.$case !== 'attach') return fail(status.INVALID_ARGUMENT, 'the first console message must attach');
      hub = host.console(kind.value.device);
      if (!hub) return fail(status.NOT_FOUND, `the domain has no console device "${kind.value.device}"`);
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
      hub!.input(client, kind.value);
    } catch (err) {
      if (err instanceof ConsoleInputBusyError) return fail(status.FAILED_PRECONDITION, err.message);
      throw err;
    }
  });
  // A client that half-closes keeps reading; it is detached when it goes away or the stream finishes.
  const detach = () => hub?.detach(client);
  call.on('cancelled', detach);
  call.on('finish', detach);
}
