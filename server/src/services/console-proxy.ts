import { status, type ClientDuplexStream, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type {
  StreamConsoleRequest as EngineConsoleRequest,
  StreamConsoleResponse as EngineConsoleResponse,
} from '../../../gen/hypervisor/engine/v1/engine_service';
import type { StreamConsoleRequest, StreamConsoleResponse } from '../../../gen/hypervisor/v1/domain_service';
import type { DomainManager } from '../domains/domain-manager';
import { ApiError, invalidField, toServiceError } from '../errors';

type ConsoleCall = ServerDuplexStream<StreamConsoleRequest, StreamConsoleResponse>;
type EngineConsoleCall = ClientDuplexStream<EngineConsoleRequest, EngineConsoleResponse>;

/**
 * StreamConsole: relays one client to the engine's console stream. When the domain stops, the client gets the
 * domain's final status as the last message and the stream ends OK.
 */
export function serveConsole(call: ConsoleCall, manager: DomainManager): void {
  let engineCall: EngineConsoleCall | undefined;
  let finished = false;
  const fail = (err: unknown) => {
    if (finished) return;
    finished = true;
    engineCall?.cancel();
    call.emit('error', toServiceError(err));
  };

  call.on('data', (request: StreamConsoleRequest) => {
    if (finished) return;
    const kind = request.kind;
    if (!engineCall) {
      if (kind?.$case !== 'open') return fail(invalidField('open', 'the first message must open the console'));
      try {
        engineCall = open(call, manager, kind.value, () => (finished = true), fail);
      } catch (err) {
        fail(err);
      }
      return;
    }
    if (kind?.$case !== 'input') return fail(invalidField('open', 'the console is already open; send input'));
    engineCall.write({ kind: { $case: 'input', value: kind.value } });
  });
  call.on('cancelled', () => {
    finished = true;
    engineCall?.cancel();
  });
}

function open(
  call: ConsoleCall,
  manager: DomainManager,
  options: { domain: string; skipScrollback: boolean; input: boolean; force: boolean },
  markFinished: () => void,
  fail: (err: unknown) => void,
): EngineConsoleCall {
  if (options.domain === '') throw invalidField('open.domain', 'required');
  const record = manager.registry.get(options.domain);
  const engine = manager.runningEngine(record);
  const stopped = record.stopped;
  const engineCall = engine.client.streamConsole();
  engineCall.write({ kind: { $case: 'attach', value: { skipScrollback: options.skipScrollback, input: options.input, force: options.force } } });
  engineCall.on('data', (response: EngineConsoleResponse) => {
    const kind = response.kind;
    if (kind?.$case === 'output') call.write({ kind: { $case: 'output', value: kind.value } });
    else if (kind?.$case === 'inputRevoked') call.write({ kind: { $case: 'inputRevoked', value: {} } });
  });
  // The engine ends the stream (or its socket goes away) when the guest stops: report how it ended.
  let closing = false;
  const closeWithFinalStatus = () => {
    if (closing) return;
    closing = true;
    void stopped?.then((final) => {
      if (call.cancelled) return;
      markFinished();
      call.write({ kind: { $case: 'closed', value: final } });
      call.end();
    });
  };
  engineCall.on('end', closeWithFinalStatus);
  engineCall.on('error', (err: ServiceError) => {
    if (err.code === status.CANCELLED) return;
    // The engine refused this client (input held by another, reader too slow): pass that on as it is.
    if (err.code === status.FAILED_PRECONDITION || err.code === status.INVALID_ARGUMENT || err.code === status.RESOURCE_EXHAUSTED) {
      return fail(new ApiError(err.code, err.details));
    }
    closeWithFinalStatus();
  });
  return engineCall;
}
