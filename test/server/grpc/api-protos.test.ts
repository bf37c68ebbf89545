import { describe, expect, it } from 'vitest';
import type { IDescriptorProto, IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { loadApiFileDescriptors } from '../../../server/src/grpc/api-protos';

const files = loadApiFileDescriptors();
const byName = new Map(files.map((f) => [f.name!, f]));

/** Every fully-qualified type a file defines (messages, nested messages, enums). */
function definedIn(file: IFileDescriptorProto): Set<string> {
  const out = new Set<string>();
  const addMessage = (prefix: string, m: IDescriptorProto) => {
    out.add(`${prefix}.${m.name}`);
    m.nestedType?.forEach((n) => addMessage(`${prefix}.${m.name}`, n));
    m.enumType?.forEach((e) => out.add(`${prefix}.${m.name}.${e.name}`));
  };
  file.messageType?.forEach((m) => addMessage(`.${file.package}`, m));
  file.enumType?.forEach((e) => out.add(`.${file.package}.${e.name}`));
  return out;
}

/** Every type a file refers to (fields, method inputs and outputs). */
function referencedBy(file: IFileDescriptorProto): string[] {
  const refs: string[] = [];
  const visit = (m: IDescriptorProto) => {
    m.field?.forEach((f) => f.typeName && refs.push(f.typeName));
    m.nestedType?.forEach(visit);
  };
  file.messageType?.forEach(visit);
  file.service?.forEach((s) => s.method?.forEach((m) => refs.push(m.inputType!, m.outputType!)));
  return refs;
}

describe('the descriptors reflection serves', () => {
  it('are the real files, named as imported, with their real imports', () => {
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining([
        'hypervisor/v1/domain_service.proto',
        'hypervisor/v1/domain.proto',
        'hypervisor/v1/events.proto',
        'hypervisor/v1/capabilities_service.proto',
        'hypervisor/v1/hotplug_service.proto',
        'google/rpc/status.proto',
        'google/rpc/error_details.proto',
        'google/protobuf/timestamp.proto',
        'google/protobuf/duration.proto',
        'grpc/health/v1/health.proto',
        'grpc/reflection/v1/reflection.proto',
      ]),
    );
    expect(byName.get('hypervisor/v1/domain_service.proto')!.dependency).toEqual(
      expect.arrayContaining(['google/protobuf/duration.proto', 'hypervisor/v1/domain.proto', 'hypervisor/v1/events.proto']),
    );
    expect(byName.get('hypervisor/v1/domain_service.proto')!.service!.map((s) => s.name)).toEqual(['DomainService']);
    expect(files.filter((f) => f.name!.includes('engine'))).toEqual([]);
  });

  it('close over their imports: each referenced type is defined in the file or in a file it imports', () => {
    for (const file of files) {
      const visible = new Set([...definedIn(file), ...(file.dependency ?? []).flatMap((d: string) => [...definedIn(byName.get(d)!)])]);
      const missing = referencedBy(file).filter((ref) => !visible.has(ref));
      expect({ file: file.name, missing }).toEqual({ file: file.name, missing: [] });
    }
  });
});
