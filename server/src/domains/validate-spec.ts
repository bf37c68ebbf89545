import { randomUUID } from 'node:crypto';
import {
  BootFormat,
  DomainSpec,
  DomainType,
  LifecycleAction,
  domainTypeToJSON,
} from '../../../gen/hypervisor/v1/domain';
import { invalidArgument, type FieldViolation } from '../errors';
import { validateDevices } from './validate-devices';

/** What the host allows for one domain type (from the capabilities probe). */
export interface TypeLimits {
  available: boolean;
  unavailableReason: string;
  maxVcpus: number;
  maxMemoryBytes: number;
}

export interface SpecContext {
  limits(type: DomainType): TypeLimits;
  /**
   * Checks the kernel image (and a Linux kernel's initrd and cmdline) can be loaded into this much RAM; resolves
   * with why not (a string for boot.kernel_path, or the field at fault), or undefined.
   */
  checkKernel(
    boot: NonNullable<DomainSpec['boot']>,
    memoryBytes: number,
  ): Promise<string | { field: string; description: string } | undefined>;
  /** Least guest RAM the platform boots with. */
  minMemoryBytes: number;
  /** Longest kernel command line the platform passes, without its NUL. */
  maxCmdlineBytes: number;
  /**
   * Why an image file (kernel, initrd, disk) given in `field` may not be used — not absolute, "..", outside the image
   * roots, a device node, another user's file (server/src/access/image-roots.ts) — or undefined. Absent: no policy.
   */
  checkPath?(field: string, path: string): string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_BYTES = 4096;
const KNOWN_ACTIONS = new Set<LifecycleAction>([
  LifecycleAction.LIFECYCLE_ACTION_UNSPECIFIED,
  LifecycleAction.LIFECYCLE_ACTION_DESTROY,
  LifecycleAction.LIFECYCLE_ACTION_RESTART,
  LifecycleAction.LIFECYCLE_ACTION_PRESERVE,
]);

/**
 * Checks a spec against the contract and this host, collecting every bad field (named by its proto path), and
 * returns it normalised: uuid assigned, maxima defaulted. Throws INVALID_ARGUMENT with BadRequest details.
 */
export async function validateSpec(input: DomainSpec | undefined, ctx: SpecContext, at = 'spec'): Promise<DomainSpec> {
  if (!input) throw invalidArgument([{ field: at, description: 'required' }]);
  const spec = DomainSpec.fromPartial(input);
  const bad: FieldViolation[] = [];
  const fail = (field: string, description: string) => bad.push({ field: `${at}.${field}`, description });

  if (!NAME.test(spec.name)) fail('name', 'required: 1-63 characters of letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (spec.uuid === '') spec.uuid = randomUUID();
  else if (!UUID.test(spec.uuid)) fail('uuid', `"${spec.uuid}" is not a UUID`);
  spec.uuid = spec.uuid.toLowerCase();

  let limits: TypeLimits | undefined;
  if (spec.type === DomainType.DOMAIN_TYPE_UNSPECIFIED || spec.type === DomainType.UNRECOGNIZED) {
    fail('type', 'required: DOMAIN_TYPE_KVM or DOMAIN_TYPE_EMULATED');
  } else {
    limits = ctx.limits(spec.type);
    if (!limits.available) fail('type', `${domainTypeToJSON(spec.type)} is not available on this host: ${limits.unavailableReason}`);
  }

  const vcpus = spec.vcpus ?? { current: 0, max: 0 };
  if (vcpus.current < 1) fail('vcpus.current', 'must be at least 1');
  else if (limits && vcpus.current > limits.maxVcpus) fail('vcpus.current', `${vcpus.current} exceeds this host's maximum of ${limits.maxVcpus} for ${domainTypeToJSON(spec.type)}`);
  if (vcpus.max === 0) vcpus.max = vcpus.current;
  else if (vcpus.max < vcpus.current) fail('vcpus.max', `must be at least vcpus.current (${vcpus.current})`);
  else if (limits && vcpus.max > limits.maxVcpus) fail('vcpus.max', `${vcpus.max} exceeds this host's maximum of ${limits.maxVcpus}`);
  spec.vcpus = vcpus;

  const memory = spec.memory ?? { currentBytes: 0, maxBytes: 0 };
  const memoryOk = checkMemory(memory.currentBytes, 'memory.current_bytes', limits, ctx.minMemoryBytes, fail);
  if (memory.maxBytes === 0) memory.maxBytes = memory.currentBytes;
  else if (memory.maxBytes < memory.currentBytes) fail('memory.max_bytes', 'must be at least memory.current_bytes');
  else checkMemory(memory.maxBytes, 'memory.max_bytes', limits, ctx.minMemoryBytes, fail);
  spec.memory = memory;

  const boot = spec.boot;
  if (!boot) fail('boot', 'required');
  else {
    if (boot.kernelPath === '') fail('boot.kernel_path', 'required');
    if (boot.initrdPath !== '' && boot.format !== BootFormat.BOOT_FORMAT_LINUX && boot.format !== BootFormat.BOOT_FORMAT_UNSPECIFIED) {
      fail('boot.initrd_path', 'only a Linux bzImage (BOOT_FORMAT_LINUX, or auto-detected) takes an initrd');
    }
    if (Buffer.byteLength(boot.cmdline) > ctx.maxCmdlineBytes) fail('boot.cmdline', `longer than ${ctx.maxCmdlineBytes} bytes`);
    if (boot.cmdline.includes('\0')) fail('boot.cmdline', 'must not contain NUL');
    if (boot.format === BootFormat.UNRECOGNIZED) fail('boot.format', 'unknown boot format');
    if (boot.format !== BootFormat.BOOT_FORMAT_RAW && (boot.loadAddress !== 0 || boot.entryAddress !== 0)) {
      fail(boot.loadAddress !== 0 ? 'boot.load_address' : 'boot.entry_address', 'only meaningful with BOOT_FORMAT_RAW');
    }
    let pathsOk = true;
    for (const [field, file] of [['boot.kernel_path', boot.kernelPath], ['boot.initrd_path', boot.initrdPath]] as const) {
      const problem = file !== '' ? ctx.checkPath?.(field, file) : undefined;
      if (problem) {
        fail(field, problem);
        pathsOk = false;
      }
    }
    if (boot.kernelPath !== '' && memoryOk && pathsOk) {
      const problem = await ctx.checkKernel(boot, memory.currentBytes);
      if (typeof problem === 'string') fail('boot.kernel_path', problem);
      else if (problem) fail(problem.field, problem.description);
    }
  }

  await validateDevices(spec.devices, fail, ctx.checkPath?.bind(ctx), spec.uuid);
  const lifecycle = spec.lifecycle;
  for (const key of ['onPoweroff', 'onReboot', 'onCrash'] as const) {
    const action = lifecycle?.[key] ?? LifecycleAction.LIFECYCLE_ACTION_UNSPECIFIED;
    if (!KNOWN_ACTIONS.has(action)) fail(`lifecycle.${snake(key)}`, 'unknown action: DESTROY, RESTART or PRESERVE');
  }
  if (bad.length > 0) throw invalidArgument(bad);
  return spec;
}

function checkMemory(
  bytes: number,
  field: string,
  limits: TypeLimits | undefined,
  minBytes: number,
  fail: (f: string, d: string) => void,
): boolean {
  if (bytes <= 0) fail(field, 'must be greater than 0');
  else if (bytes < minBytes) fail(field, `must be at least ${minBytes} bytes`);
  else if (bytes % PAGE_BYTES !== 0) fail(field, `must be a multiple of ${PAGE_BYTES} bytes`);
  else if (limits && bytes > limits.maxMemoryBytes) fail(field, `${bytes} exceeds this host's ${limits.maxMemoryBytes} bytes of memory`);
  else return true;
  return false;
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
