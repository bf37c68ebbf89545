import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PackageDefinition } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { FileDescriptorProto, type IDescriptorProto, type IFileDescriptorProto, type IFileDescriptorSet } from 'protobufjs/ext/descriptor';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** grpc-health-check ships health.proto as health/v1/; its canonical name (grpc/grpc's, grpcurl's) is this. */
const HEALTH_FILE = 'grpc/health/v1/health.proto';

/**
 * The .proto files hvd's reflection serves, by the names they are imported by: the public contract (proto/), the
 * vendored google/rpc error details (third_party/googleapis/), and the standard services it also runs (health, and
 * reflection itself). The engine's internal contract is not served.
 */
const SERVED_FILES = [
  'hypervisor/v1/capabilities_service.proto',
  'hypervisor/v1/domain_service.proto',
  'hypervisor/v1/hotplug_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
  HEALTH_FILE,
  'grpc/reflection/v1/reflection.proto',
  'grpc/reflection/v1alpha/reflection.proto',
];

/**
 * The well-known google/protobuf files protobufjs bundles (they carry no file name once loaded). Self-contained
 * files first: a bundled file also carries what it imports (type.proto holds Any), and the first file wins.
 */
const WELL_KNOWN = ['any', 'duration', 'empty', 'field_mask', 'source_context', 'struct', 'timestamp', 'wrappers', 'type', 'api', 'descriptor'];

/** The repository (or installed package) root: the first ancestor holding proto/hypervisor/v1. Works from src/ and dist/. */
export function findProtoRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'proto', SERVED_FILES[0]))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`proto/${SERVED_FILES[0]} not found above ${from}`);
  }
}

/** Directories imports are resolved against, in order. */
function includeDirs(root: string): string[] {
  return [
    path.join(root, 'proto'),
    path.join(root, 'third_party', 'googleapis'),
    path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto'),
  ];
}

/**
 * One FileDescriptorProto per real .proto file, named as it is imported ("hypervisor/v1/domain.proto"), with its
 * real imports as dependencies — what grpcurl and grpcui expect from reflection. (@grpc/proto-loader merges the
 * files of a package into one synthetic "hypervisor_v1.proto", which tools cannot match to imports.)
 */
export function loadApiFileDescriptors(root = findProtoRoot()): IFileDescriptorProto[] {
  const dirs = includeDirs(root);
  const relative = new Map<string, string>();
  const pbRoot = new protobuf.Root();
  pbRoot.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    if (target === HEALTH_FILE) {
      relative.set(healthProtoPath, target);
      return healthProtoPath;
    }
    for (const dir of dirs) {
      const file = path.join(dir, target);
      if (fs.existsSync(file)) {
        relative.set(file, target);
        return file;
      }
    }
    return target; // a bundled well-known file
  };
  pbRoot.loadSync(SERVED_FILES, { keepCase: true });
  pbRoot.resolveAll();

  const wellKnownOf = new Map<string, string>();
  for (const name of WELL_KNOWN) {
    const file = `google/protobuf/${name}.proto`;
    const json = protobuf.common.get(file) as { nested?: { google?: { nested?: { protobuf?: { nested?: object } } } } } | null;
    for (const symbol of Object.keys(json?.nested?.google?.nested?.protobuf?.nested ?? {})) {
      if (!wellKnownOf.has(`google.protobuf.${symbol}`)) wellKnownOf.set(`google.protobuf.${symbol}`, file);
    }
  }

  const files = new Map<string, IFileDescriptorProto>();
  const fileOf = (name: string): IFileDescriptorProto => {
    let file = files.get(name);
    if (!file) {
      const source = relative.has(name) ? name : undefined;
      const text = source ? fs.readFileSync(source, 'utf8') : undefined;
      const parsed = text !== undefined ? protobuf.parse(text, { keepCase: true }) : undefined;
      file = {
        name: relative.get(name) ?? name,
        package: parsed?.package ?? 'google.protobuf',
        dependency: parsed?.imports ?? [],
        messageType: [],
        enumType: [],
        service: [],
        extension: [],
        syntax: /^\s*syntax\s*=\s*"proto2"/m.test(text ?? '') ? 'proto2' : 'proto3',
      };
      files.set(name, file);
    }
    return file;
  };
  const merged = (pbRoot as unknown as { toDescriptor(syntax: string): IFileDescriptorSet }).toDescriptor('proto3');
  qualifyTypeNames(merged.file ?? []);
  for (const pkgFile of merged.file ?? []) {
    const sourceOf = (symbol: string): IFileDescriptorProto => {
      const fqn = pkgFile.package ? `${pkgFile.package}.${symbol}` : symbol;
      const source = pbRoot.lookup(fqn)?.filename ?? wellKnownOf.get(fqn);
      if (!source) throw new Error(`no .proto file known for ${fqn}`);
      return fileOf(source);
    };
    for (const m of pkgFile.messageType ?? []) sourceOf(m.name!).messageType!.push(m);
    for (const e of pkgFile.enumType ?? []) sourceOf(e.name!).enumType!.push(e);
    for (const s of pkgFile.service ?? []) sourceOf(s.name!).service!.push(s);
  }
  return [...files.values()];
}

/**
 * protobufjs writes type references relative to their scope ("Domain"); protoc, and so every tool, expects them
 * fully qualified (".hypervisor.v1.Domain"). Resolves each reference with protobuf's scoping rules.
 */
function qualifyTypeNames(files: IFileDescriptorProto[]): void {
  const defined = new Set<string>();
  const collect = (scope: string, m: IDescriptorProto) => {
    defined.add(`${scope}.${m.name}`);
    m.nestedType?.forEach((n) => collect(`${scope}.${m.name}`, n));
    m.enumType?.forEach((e) => defined.add(`${scope}.${m.name}.${e.name}`));
  };
  for (const f of files) {
    f.messageType?.forEach((m) => collect(`.${f.package}`, m));
    f.enumType?.forEach((e) => defined.add(`.${f.package}.${e.name}`));
  }
  const qualify = (scope: string, ref: string | null | undefined): string | undefined => {
    if (!ref || ref.startsWith('.')) return ref ?? undefined;
    for (let s = scope; ; s = s.slice(0, s.lastIndexOf('.'))) {
      if (defined.has(`${s}.${ref}`)) return `${s}.${ref}`;
      if (s === '') throw new Error(`unresolved type reference ${ref} in ${scope}`);
    }
  };
  const visit = (scope: string, m: IDescriptorProto) => {
    const inner = `${scope}.${m.name}`;
    m.field?.forEach((field) => (field.typeName = qualify(inner, field.typeName)));
    m.nestedType?.forEach((n) => visit(inner, n));
  };
  for (const f of files) {
    const scope = `.${f.package}`;
    f.messageType?.forEach((m) => visit(scope, m));
    f.service?.forEach((svc) =>
      svc.method?.forEach((method) => {
        method.inputType = qualify(scope, method.inputType);
        method.outputType = qualify(scope, method.outputType);
      }),
    );
  }
}

/**
 * A package definition as @grpc/reflection reads it (it only looks at the fileDescriptorProtos of each entry),
 * carrying the real files.
 */
export function loadApiPackage(root = findProtoRoot()): PackageDefinition {
  const fileDescriptorProtos = loadApiFileDescriptors(root).map((f) => Buffer.from(FileDescriptorProto.encode(f).finish()));
  return { 'hv.reflection.files': { fileDescriptorProtos } } as unknown as PackageDefinition;
}
