import { describe, expect, it } from 'vitest';
import { CapabilitiesServiceService } from '../../../gen/hypervisor/v1/capabilities_service';
import { DomainServiceService } from '../../../gen/hypervisor/v1/domain_service';
import { HotplugServiceService } from '../../../gen/hypervisor/v1/hotplug_service';
import { consoleWriteOf, readOnlyAccess } from '../../../server/src/access';

const paths = [DomainServiceService, CapabilitiesServiceService, HotplugServiceService].flatMap((s) => Object.values(s).map((m) => m.path));

describe('readOnlyAccess', () => {
  it('classifies every RPC of the contract by its name', () => {
    const byAccess = (access: string) => paths.filter((p) => readOnlyAccess(p) === access).map((p) => p.split('/')[2]).sort();
    expect(byAccess('read')).toEqual(
      ['ExportLibvirtXml', 'GetCapabilities', 'GetCapabilitiesXml', 'GetDomain', 'GetDomainCapabilities', 'GetDomainStats', 'ListDevices', 'ListDomains', 'WatchEvents'].sort(),
    );
    expect(byAccess('console')).toEqual(['StreamConsole']);
    expect(byAccess('deny')).toEqual(
      [
        'AttachDevice', 'CreateDomain', 'DefineDomain', 'DestroyDomain', 'DetachDevice', 'ImportLibvirtXml', 'RebootDomain', 'ResetDomain',
        'ResumeDomain', 'SetMemory', 'SetVcpus', 'ShutdownDomain', 'StartDomain', 'SuspendDomain', 'UndefineDomain', 'UpdateDomain',
      ].sort(),
    );
  });

  it('reads the standard services, denies unknown services and look-alike names', () => {
    expect(readOnlyAccess('/grpc.health.v1.Health/Check')).toBe('read');
    expect(readOnlyAccess('/grpc.health.v1.Health/Watch')).toBe('read');
    expect(readOnlyAccess('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo')).toBe('read');
    expect(readOnlyAccess('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo')).toBe('read');
    expect(readOnlyAccess('/hypervisor.engine.v1.EngineService/GetStatus')).toBe('deny');
    expect(readOnlyAccess('/hypervisor.v1.DomainService/Getaway')).toBe('deny');
    expect(readOnlyAccess('/hypervisor.v1.DomainService/ListenAndDestroy')).toBe('deny');
    expect(readOnlyAccess('garbage')).toBe('deny');
  });
});

describe('consoleWriteOf', () => {
  it('passes a read-only open and refuses input, open.input and open.force', () => {
    expect(consoleWriteOf({ kind: { $case: 'open', value: { domain: 'a', input: false, force: false } } })).toBeUndefined();
    expect(consoleWriteOf({ kind: { $case: 'open', value: { domain: 'a', input: true, force: false } } })).toMatch(/open\.input=true/);
    expect(consoleWriteOf({ kind: { $case: 'open', value: { domain: 'a', input: false, force: true } } })).toMatch(/open\.input=true/);
    expect(consoleWriteOf({ kind: { $case: 'input', value: Buffer.from('x') } })).toMatch(/sends console input/);
    expect(consoleWriteOf({})).toBeUndefined();
  });
});
