import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  CreateDomainResponse,
  DefineDomainResponse,
  DestroyDomainResponse,
  RebootDomainResponse,
  ResetDomainResponse,
  ResumeDomainResponse,
  ShutdownDomainResponse,
  StartDomainResponse,
  SuspendDomainResponse,
  UndefineDomainResponse,
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
import { invalidField, toServiceError, unimplemented } from '../errors';
import { unary } from '../grpc/handle';
import type { RequestLog } from '../store/request-log';
import { serveConsole } from './console-proxy';

/** Answers an RPC that a later issue builds, naming what is missing. */
function notYet<Req, Res>(what: string) {
  return unary<Req, Res>(() => {
    throw unimplemented(what);
  });
}

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
  return {
    createDomain: unary((req) => requests.once('CreateDomain', req.requestId, CreateDomainResponse, async () => domain(await manager.create(req.spec, req.paused)))),
    defineDomain: unary((req) => requests.once('DefineDomain', req.requestId, DefineDomainResponse, async () => domain(await manager.define(req.spec, req.autostart)))),
    updateDomain: unary((req) =>
      requests.once('UpdateDomain', req.requestId, UpdateDomainResponse, async () =>
        domain(await manager.update(requireDomain(req.domain), req.spec, req.etag, req.autostart)),
      ),
    ),
    undefineDomain: unary((req) =>
      requests.once('UndefineDomain', req.requestId, UndefineDomainResponse, async () => {
        manager.undefine(requireDomain(req.domain));
        return {};
      }),
    ),
    startDomain: unary((req) => requests.once('StartDomain', req.requestId, StartDomainResponse, async () => domain(await manager.start(requireDomain(req.domain), req.paused)))),
    shutdownDomain: unary((req) =>
      requests.once('ShutdownDomain', req.requestId, ShutdownDomainResponse, async () =>
        domain(await manager.shutdown(requireDomain(req.domain), timeoutMs(req.timeout))),
      ),
    ),
    rebootDomain: unary((req) =>
      requests.once('RebootDomain', req.requestId, RebootDomainResponse, async () =>
        domain(await manager.shutdown(requireDomain(req.domain), timeoutMs(req.timeout), true)),
      ),
    ),
    destroyDomain: unary((req) => requests.once('DestroyDomain', req.requestId, DestroyDomainResponse, async () => domain(await manager.destroy(requireDomain(req.domain))))),
    suspendDomain: unary((req) => requests.once('SuspendDomain', req.requestId, SuspendDomainResponse, async () => domain(await manager.suspend(requireDomain(req.domain))))),
    resumeDomain: unary((req) => requests.once('ResumeDomain', req.requestId, ResumeDomainResponse, async () => domain(await manager.resume(requireDomain(req.domain))))),
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
    resetDomain: unary((req) => requests.once('ResetDomain', req.requestId, ResetDomainResponse, async () => domain(await manager.reset(requireDomain(req.domain))))),
    importLibvirtXml: notYet('ImportLibvirtXml'),
    exportLibvirtXml: notYet('ExportLibvirtXml'),
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
