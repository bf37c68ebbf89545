import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  CreateDomainRequest,
  CreateDomainResponse,
  DefineDomainRequest,
  DefineDomainResponse,
  DestroyDomainRequest,
  DestroyDomainResponse,
  ImportLibvirtXmlRequest,
  ImportLibvirtXmlResponse,
  RebootDomainRequest,
  RebootDomainResponse,
  ResetDomainRequest,
  ResetDomainResponse,
  ResumeDomainRequest,
  ResumeDomainResponse,
  ShutdownDomainRequest,
  ShutdownDomainResponse,
  StartDomainRequest,
  StartDomainResponse,
  SuspendDomainRequest,
  SuspendDomainResponse,
  UndefineDomainRequest,
  UndefineDomainResponse,
  UpdateDomainRequest,
  UpdateDomainResponse,
  type DomainServiceServer,
  type WatchEventsRequest,
  type WatchEventsResponse,
} from '../../../gen/hypervisor/v1/domain_service';
import type { Duration } from '../../../gen/google/protobuf/duration';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type DomainManager } from '../domains/domain-manager';
import { listPage } from '../domains/list-page';
import { toDomainProto } from '../domains/to-proto';
import { processStats } from '../engine/process-stats';
import type { EventLog } from '../events/event-log';
import { invalidField, toServiceError } from '../errors';
import { unary } from '../grpc/handle';
import { parseDomainXml, renderDomainXml } from '../libvirt-xml';
import type { Codec, RequestLog } from '../store/request-log';
import { serveConsole } from './console-proxy';

function requireDomain(domain: string): string {
  if (domain === '') throw invalidField('domain', 'required: a domain id or name');
  return domain;
}

function timeoutMs(timeout: Duration | undefined): number {
  if (!timeout) return DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const ms = timeout.seconds * 1000 + Math.floor(timeout.nanos / 1e6);
  if (ms <= 0) throw invalidField('timeout', 'must be positive');
  return ms;
}

export function createDomainService(manager: DomainManager, events: EventLog, requests: RequestLog): DomainServiceServer {
  const domain = (record: Parameters<typeof toDomainProto>[0]) => ({ domain: toDomainProto(record) });
  /** A mutating RPC behind request_id: the request's other fields decide whether a reused id is a retry. */
  const idempotent = <Req extends { requestId: string }, Res>(method: string, request: Codec<Req>, response: Codec<Res>, handle: (req: Req) => Promise<Res>) =>
    unary((req: Req) => requests.once(method, req.requestId, request.encode({ ...req, requestId: '' }).finish(), response, () => handle(req)));
  return {
    createDomain: idempotent('CreateDomain', CreateDomainRequest, CreateDomainResponse, async (req) => domain(await manager.create(req.spec, req.paused))),
    defineDomain: idempotent('DefineDomain', DefineDomainRequest, DefineDomainResponse, async (req) => domain(await manager.define(req.spec, req.autostart))),
    updateDomain: idempotent('UpdateDomain', UpdateDomainRequest, UpdateDomainResponse, async (req) =>
      domain(await manager.update(requireDomain(req.domain), req.spec, req.etag, req.autostart)),
    ),
    undefineDomain: idempotent('UndefineDomain', UndefineDomainRequest, UndefineDomainResponse, async (req) => {
      manager.undefine(requireDomain(req.domain));
      return {};
    }),
    startDomain: idempotent('StartDomain', StartDomainRequest, StartDomainResponse, async (req) => domain(await manager.start(requireDomain(req.domain), req.paused))),
    shutdownDomain: idempotent('ShutdownDomain', ShutdownDomainRequest, ShutdownDomainResponse, async (req) =>
      domain(await manager.shutdown(requireDomain(req.domain), timeoutMs(req.timeout))),
    ),
    rebootDomain: idempotent('RebootDomain', RebootDomainRequest, RebootDomainResponse, async (req) =>
      domain(await manager.shutdown(requireDomain(req.domain), timeoutMs(req.timeout), true)),
    ),
    destroyDomain: idempotent('DestroyDomain', DestroyDomainRequest, DestroyDomainResponse, async (req) => domain(await manager.destroy(requireDomain(req.domain)))),
    suspendDomain: idempotent('SuspendDomain', SuspendDomainRequest, SuspendDomainResponse, async (req) => domain(await manager.suspend(requireDomain(req.domain)))),
    resumeDomain: idempotent('ResumeDomain', ResumeDomainRequest, ResumeDomainResponse, async (req) => domain(await manager.resume(requireDomain(req.domain)))),
    getDomain: unary(async (req) => domain(await manager.refresh(manager.registry.get(requireDomain(req.domain))))),
    listDomains: unary((req) => {
      const page = listPage(manager.registry.list(), req.pageSize, req.pageToken, req.states);
      return { domains: page.records.map(toDomainProto), nextPageToken: page.nextPageToken };
    }),
    watchEvents: (call) => watchEvents(call, manager, events),
    streamConsole: (call) => serveConsole(call, manager),
    getDomainStats: unary(async (req) => {
      const record = manager.registry.get(requireDomain(req.domain));
      const engine = manager.runningEngine(record);
      const { counters, balloon } = await engine.getState();
      const { cpuTimeNs, rssBytes } = processStats(engine.pid);
      return { stats: { cpuTimeNs, rssBytes, vcpuExits: counters?.vcpuExits ?? 0, consoleBytesOut: counters?.consoleBytesOut ?? 0, balloon } };
    }),
    resetDomain: idempotent('ResetDomain', ResetDomainRequest, ResetDomainResponse, async (req) => domain(await manager.reset(requireDomain(req.domain)))),
    importLibvirtXml: idempotent('ImportLibvirtXml', ImportLibvirtXmlRequest, ImportLibvirtXmlResponse, async (req) => {
      const parsed = parseDomainXml(req.xml);
      try {
        if (!req.define) return { spec: await manager.validate(parsed.spec), domain: undefined };
        const record = await manager.define(parsed.spec, false);
        return { spec: record.spec, ...domain(record) };
      } catch (err) {
        // Validation names spec fields; the client sent XML, so name the elements they came from.
        throw parsed.relocate(err);
      }
    }),
    // A running domain's live spec (with hotplugged devices), as GetDomain shows it.
    exportLibvirtXml: unary(async (req) => {
      const record = manager.registry.get(requireDomain(req.domain));
      return { xml: renderDomainXml(record.liveSpec ?? record.spec) };
    }),
  };
}

/** Replays what the client missed (after_sequence), then streams live events until the client goes away. */
function watchEvents(call: ServerWritableStream<WatchEventsRequest, WatchEventsResponse>, manager: DomainManager, events: EventLog): void {
  const { afterSequence, domain } = call.request;
  const wanted = domain === '' ? undefined : manager.registry.find(domain)?.id ?? domain;
  const matches = (e: { domainId: string; domainName: string }) => wanted === undefined || e.domainId === wanted || e.domainName === domain;
  try {
    // Replay and subscription happen in one turn of the event loop, so no event falls between them.
    const missed = afterSequence > 0 ? events.since(afterSequence) : [];
    for (const event of missed) if (matches(event)) call.write({ event });
    const unsubscribe = events.subscribe((event) => {
      if (matches(event)) call.write({ event });
    });
    call.on('cancelled', unsubscribe);
    call.on('close', unsubscribe);
  } catch (err) {
    call.emit('error', toServiceError(err));
  }
}
