import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DomainServiceServer } from '../../../gen/hypervisor/v1/domain_service';
import type { DomainManager } from '../domains/domain-manager';
import { listPage } from '../domains/list-page';
import { toDomainProto } from '../domains/to-proto';
import { processStats } from '../engine/process-stats';
import { invalidField, toServiceError, unimplemented } from '../errors';
import { unary } from '../grpc/handle';
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

export function createDomainService(manager: DomainManager): DomainServiceServer {
  return {
    createDomain: unary(async (req) => ({ domain: toDomainProto(await manager.create(req.spec, req.paused)) })),
    getDomain: unary((req) => ({ domain: toDomainProto(manager.registry.get(requireDomain(req.domain))) })),
    listDomains: unary((req) => {
      const page = listPage(manager.registry.list(), req.pageSize, req.pageToken, req.states);
      return { domains: page.records.map(toDomainProto), nextPageToken: page.nextPageToken };
    }),
    destroyDomain: unary(async (req) => ({ domain: toDomainProto(await manager.destroy(requireDomain(req.domain))) })),
    streamConsole: (call) => serveConsole(call, manager),
    getDomainStats: unary(async (req) => {
      const record = manager.registry.get(requireDomain(req.domain));
      const engine = manager.runningEngine(record);
      const state = await engine.getState();
      const { cpuTimeNs, rssBytes } = processStats(engine.pid);
      const counters = state.counters;
      return { stats: { cpuTimeNs, rssBytes, vcpuExits: counters?.vcpuExits ?? 0, consoleBytesOut: counters?.consoleBytesOut ?? 0 } };
    }),
    defineDomain: notYet('DefineDomain (persistent domains, issue 4)'),
    updateDomain: notYet('UpdateDomain (persistent domains, issue 4)'),
    undefineDomain: notYet('UndefineDomain (persistent domains, issue 4)'),
    startDomain: notYet('StartDomain (persistent domains, issue 4)'),
    shutdownDomain: notYet('ShutdownDomain (graceful shutdown, issue 4)'),
    rebootDomain: notYet('RebootDomain (issue 4)'),
    resetDomain: notYet('ResetDomain (issue 4)'),
    suspendDomain: unary(async (req) => ({ domain: toDomainProto(await manager.suspend(requireDomain(req.domain))) })),
    resumeDomain: unary(async (req) => ({ domain: toDomainProto(await manager.resume(requireDomain(req.domain))) })),
    watchEvents: (call: ServerWritableStream<unknown, unknown>) => call.emit('error', toServiceError(unimplemented('WatchEvents (events, issue 4)'))),
    importLibvirtXml: notYet('ImportLibvirtXml'),
    exportLibvirtXml: notYet('ExportLibvirtXml'),
  };
}
