import { status, type ClientDuplexStream, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type {
  StreamConsoleRequest as EngineConsoleRequest,
  StreamConsoleResponse as EngineConsoleResponse,
} from '../../../gen/hypervisor/engine/v1/engine_service';
import type { DomainSpec, DomainStatus } from '../../../gen/hypervisor/v1/domain';
import type { ConsoleOpen, StreamConsoleRequest, StreamConsoleResponse } from '../../../gen/hypervisor/v1/domain_service';
import type { DomainManager } from '../domains/domain-manager';
import { ApiError, invalidField, toServiceError } from '../errors';

type ConsoleCall = ServerDuplexStream<StreamConsoleRequest, StreamConsoleResponse>;
type EngineConsoleCall = ClientDuplexStream<EngineConsoleRequest, EngineConsoleResponse>;

/** Engine refusals passed on to the client as they are (input held by another client, reader too slow, …). */
const REFUSALS = new Set([status.FAILED_PRECONDITION, status.INVALID_ARGUMENT, status.RESOURCE_EXHAUSTED]);

/** StreamConsole: one client relayed to the engine's console stream (the serial console, or a console device's). */
export function serveConsole(call: ConsoleCall, manager: DomainManager): void {
  new ConsoleRelay(call, manager);
}

/**
 * Relays output and input between a client and the engine. When the domain stops — the engine ends its stream, or
 * its socket goes away when it is killed — the client gets the domain's final status as the last message and the
 * stream ends OK.
 */
class ConsoleRelay {
  private engineCall: EngineConsoleCall | undefined;
  private closing = false;
  private done = false;

  constructor(
    private readonly call: ConsoleCall,
    private readonly manager: DomainManager,
  ) {
    call.on('data', (request: StreamConsoleRequest) => this.onClientMessage(request));
    call.on('cancelled', () => {
      this.done = true;
      this.engineCall?.cancel();
    });
  }

  private onClientMessage(request: StreamConsoleRequest): void {
    if (this.done) return;
    const kind = request.kind;
    try {
      if (!this.engineCall) {
        if (kind?.$case !== 'open') throw invalidField('open', 'the first message must open the console');
        this.open(kind.value);
      } else if (kind?.$case === 'input') {
        this.engineCall.write({ kind: { $case: 'input', value: kind.value } });
      } else {
        throw invalidField('input', 'the console is already open; only input may follow');
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private open(options: ConsoleOpen): void {
    if (options.domain === '') throw invalidField('open.domain', 'required');
    const record = this.manager.registry.get(options.domain);
    const engine = this.manager.runningEngine(record);
    checkConsoleDevice(record.liveSpec ?? record.spec, options.device);
    const stopped = record.stopped;
    const engineCall = engine.client.streamConsole();
    this.engineCall = engineCall;
    const { skipScrollback, input, force, device } = options;
    engineCall.write({ kind: { $case: 'attach', value: { skipScrollback, input, force, device } } });
    engineCall.on('data', (response: EngineConsoleResponse) => {
      const kind = response.kind;
      if (kind?.$case === 'output') this.call.write({ kind: { $case: 'output', value: kind.value } });
      else if (kind?.$case === 'inputRevoked') this.call.write({ kind: { $case: 'inputRevoked', value: {} } });
    });
    engineCall.on('end', () => this.closeWithFinalStatus(stopped));
    engineCall.on('error', (err: ServiceError) => {
      if (err.code === status.CANCELLED) return;
      if (REFUSALS.has(err.code)) return this.fail(new ApiError(err.code, err.details));
      this.closeWithFinalStatus(stopped);
    });
  }

  /** Both 'error' and 'end' may arrive for one engine stream: the final status is sent once. */
  private closeWithFinalStatus(stopped: Promise<DomainStatus> | undefined): void {
    if (this.closing) return;
    this.closing = true;
    void stopped?.then((final) => {
      if (this.done || this.call.cancelled) return;
      this.done = true;
      this.call.write({ kind: { $case: 'closed', value: final } });
      this.call.end();
    });
  }

  private fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.engineCall?.cancel();
    this.call.emit('error', toServiceError(err));
  }
}

/** open.device must name a console device of the spec the engine runs ('' is the serial console). */
function checkConsoleDevice(spec: DomainSpec, device: string): void {
  if (device === '') return;
  const found = spec.devices.find((d) => d.id === device);
  if (!found) {
    const consoles = spec.devices.filter((d) => d.kind?.$case === 'console').map((d) => d.id);
    throw invalidField('open.device', `the domain has no device "${device}" (its console devices: ${consoles.join(', ') || 'none'}; empty opens the serial console)`);
  }
  if (found.kind?.$case !== 'console') throw invalidField('open.device', `device "${device}" is a ${found.kind?.$case ?? 'unknown'} device, not a console`);
}
