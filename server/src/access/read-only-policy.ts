/**
 * What a client of the read-only socket may call (libvirt's read-only connection: look, do not touch).
 *
 * The policy is derived from the method's name, so a new RPC is classified the day it is added:
 * - the standard services (health, server reflection) are read-only as a whole;
 * - in hv's own services, `Get*`, `List*`, `Watch*` and `Export*` methods only read (GetCapabilities, ListDomains,
 *   WatchEvents, ExportLibvirtXml — the latter is libvirt's `virsh dumpxml`, which read-only connections may use);
 * - `StreamConsole` may be used to read a console: its messages are checked one by one (see consoleWriteOf);
 * - everything else (Define, Create, Start, Destroy, Attach, Set*, Import…) is a mutation and denied, as is any
 *   method of a service not listed here.
 */
export type MethodAccess = 'read' | 'console' | 'deny';

/** Services every method of which only reads. */
const READ_ONLY_SERVICES = new Set(['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
/** The package whose methods are classified by name. */
const API_PACKAGE_PREFIX = 'hypervisor.v1.';
/** Method-name prefixes of RPCs that only read state. */
const READ_PREFIXES = ['Get', 'List', 'Watch', 'Export'];
/** The console stream: readable, its input side refused. */
const CONSOLE_METHOD = 'StreamConsole';

/** Splits a gRPC path "/pkg.Service/Method" into its service and method names. */
export function splitMethodPath(methodPath: string): { service: string; method: string } {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(methodPath);
  return match ? { service: match[1], method: match[2] } : { service: '', method: methodPath };
}

/** How the read-only socket treats a call of this method path. */
export function readOnlyAccess(methodPath: string): MethodAccess {
  const { service, method } = splitMethodPath(methodPath);
  if (READ_ONLY_SERVICES.has(service)) return 'read';
  if (!service.startsWith(API_PACKAGE_PREFIX)) return 'deny';
  if (method === CONSOLE_METHOD) return 'console';
  return READ_PREFIXES.some((prefix) => new RegExp(`^${prefix}[A-Z]`).test(method)) ? 'read' : 'deny';
}

/** The StreamConsoleRequest shape as ts-proto decodes it (only what the policy looks at). */
interface ConsoleMessage {
  kind?: { $case: 'open'; value: { input?: boolean; force?: boolean } } | { $case: 'input'; value: unknown };
}

/** Why a console message writes to the guest (and so is refused on the read-only socket), or undefined when it only reads. */
export function consoleWriteOf(message: unknown): string | undefined {
  const kind = (message as ConsoleMessage | undefined)?.kind;
  if (kind?.$case === 'input') return 'sends console input';
  if (kind?.$case === 'open' && (kind.value.input || kind.value.force)) return 'opens the console with open.input=true';
  return undefined;
}
