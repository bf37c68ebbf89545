/**
 * A libvirt <domain> document → DomainSpec, for ImportLibvirtXml. Steps:
 * 1. Parse safely (xml-tree.ts: no DOCTYPE, so no entities; one root, well-formed).
 * 2. Map what hv has an equivalent for: type kvm|qemu, name, uuid, memory, vcpu, <os> direct kernel boot,
 *    lifecycle actions, devices (parse-devices-xml.ts), hv's own <metadata> (hv-metadata.ts).
 * 3. Elements that change nothing hv does (<clock>, <features>, <cpu>, <on_lockfailure>, tuning…) are ignored;
 *    anything else a user would rely on (firmware boot, other architectures, unknown elements) is a violation
 *    named by its XML path, "xml: os/loader", never dropped.
 * The spec is then validated as DefineDomain's (validate-spec.ts); relocate() renames its spec.* fields to the
 * XML paths they came from.
 */
import { ApiError, invalidArgument, type FieldViolation } from '../errors';
import { BootFormat, DomainSpec, DomainType, LifecycleAction } from '../../../gen/hypervisor/v1/domain';
import { BOOT_FORMAT_NAMES, HV_NAMESPACE } from './hv-metadata';
import { parseDevices } from './parse-devices-xml';
import { scaledBytes } from './scaled-integer';
import { child, childrenNamed, parseXmlTree, type XmlNode } from './xml-tree';

/** The request field holding the document. */
const FIELD = 'xml';

export interface ParsedDomainXml {
  spec: DomainSpec;
  /** An error whose violations name spec.* fields, with each renamed to the XML path it came from. */
  relocate(err: unknown): unknown;
}

/** Top-level elements that change nothing hv does: descriptions, host tuning, CPU model and clock choices. */
const IGNORED = new Set([
  'title', 'description', 'clock', 'features', 'cpu', 'pm', 'on_lockfailure', 'resource', 'seclabel', 'sysinfo',
  'cputune', 'memtune', 'blkiotune', 'numatune', 'memoryBacking', 'iothreads', 'perf', 'keywrap', 'vcpus', 'genid',
]);
/** <os> children that only matter to firmware, which hv guests do not run (they boot the kernel directly). */
const IGNORED_OS = new Set(['boot', 'bootmenu', 'smbios', 'bios']);
const ACTIONS: Readonly<Record<string, LifecycleAction>> = {
  destroy: LifecycleAction.LIFECYCLE_ACTION_DESTROY,
  restart: LifecycleAction.LIFECYCLE_ACTION_RESTART,
  preserve: LifecycleAction.LIFECYCLE_ACTION_PRESERVE,
};
/** Spec fields (validate-spec names, without "spec.") → the XML element or attribute holding each. */
const TOP_FIELDS: ReadonlyArray<[string, string]> = [
  ['name', 'name'], ['uuid', 'uuid'], ['type', '@type'], ['vcpus.current', 'vcpu'], ['vcpus.max', 'vcpu'],
  ['memory.current_bytes', 'memory'], ['memory.max_bytes', 'maxMemory'], ['boot', 'os'], ['boot.kernel_path', 'os/kernel'],
  ['boot.initrd_path', 'os/initrd'], ['boot.cmdline', 'os/cmdline'], ['lifecycle.on_poweroff', 'on_poweroff'],
  ['lifecycle.on_reboot', 'on_reboot'], ['lifecycle.on_crash', 'on_crash'], ['devices', 'devices'],
];
const TYPES: Readonly<Record<string, DomainType>> = { kvm: DomainType.DOMAIN_TYPE_KVM, qemu: DomainType.DOMAIN_TYPE_EMULATED };

export function parseDomainXml(xml: string): ParsedDomainXml {
  if (xml.trim() === '') throw invalidArgument([{ field: FIELD, description: 'required: a libvirt <domain> document' }]);
  const root = parseXmlTree(xml, FIELD);
  if (root.name !== 'domain') throw invalidArgument([{ field: FIELD, description: `the root element must be <domain>, not <${root.name}>` }]);
  const bad: FieldViolation[] = [];
  const fail = (path: string, description: string) => bad.push({ field: `${FIELD}: ${path}`, description });
  // spec field (as validate-spec names it, without "spec.") → XML path.
  const where = new Map<string, string>(TOP_FIELDS);
  const spec = DomainSpec.fromPartial({ labels: {} });

  const type = root.attrs.type ?? '';
  if (TYPES[type] === undefined) fail('@type', `"${type}" domains are not supported: kvm or qemu (emulated)`);
  else spec.type = TYPES[type];

  let memoryBytes: number | undefined;
  let currentMemory: { bytes: number; path: string } | undefined;
  for (const node of root.children) {
    const size = () => {
      const bytes = scaledBytes(node.text, node.attrs.unit);
      if (typeof bytes === 'string') fail(node.name, bytes);
      return typeof bytes === 'number' ? bytes : 0;
    };
    switch (node.name) {
      case 'name':
        spec.name = node.text;
        break;
      case 'uuid':
        spec.uuid = node.text;
        break;
      case 'metadata':
        readMetadata(node, spec, fail, where);
        break;
      case 'memory':
        memoryBytes = size();
        spec.memory = { currentBytes: memoryBytes, maxBytes: spec.memory?.maxBytes ?? 0 };
        break;
      case 'maxMemory':
        spec.memory = { currentBytes: spec.memory?.currentBytes ?? 0, maxBytes: size() };
        break;
      case 'currentMemory':
        currentMemory = { bytes: size(), path: node.name };
        break;
      case 'vcpu': {
        const max = Number(node.text);
        const current = Number(node.attrs.current ?? node.text);
        if (!/^\d+$/.test(node.text)) fail('vcpu', `"${node.text}" is not a number of vCPUs`);
        else if (node.attrs.current !== undefined && !/^\d+$/.test(node.attrs.current)) fail('vcpu/@current', `"${node.attrs.current}" is not a number of vCPUs`);
        else spec.vcpus = { current, max };
        if (node.attrs.current !== undefined) where.set('vcpus.current', 'vcpu/@current');
        break;
      }
      case 'os':
        readOs(node, spec, fail);
        break;
      case 'on_poweroff':
      case 'on_reboot':
      case 'on_crash': {
        const action = ACTIONS[node.text];
        if (action === undefined) fail(node.name, `"${node.text}" is not supported: destroy, restart or preserve`);
        spec.lifecycle ??= { onPoweroff: 0, onReboot: 0, onCrash: 0 };
        const key = ({ on_poweroff: 'onPoweroff', on_reboot: 'onReboot', on_crash: 'onCrash' } as const)[node.name];
        spec.lifecycle[key] = action ?? LifecycleAction.LIFECYCLE_ACTION_UNSPECIFIED;
        break;
      }
      case 'devices':
        parseDevices(node, fail).forEach(({ device, path }, i) => {
          spec.devices.push(device);
          where.set(`devices[${i}]`, path).set(`devices[${i}].id`, `${path}/alias/@name`);
          for (const [field, at] of DEVICE_FIELDS) where.set(`devices[${i}].${field}`, `${path}/${at}`);
        });
        break;
      default:
        if (!IGNORED.has(node.name)) fail(node.name, `<${node.name}> is not supported`);
    }
  }
  // hv starts a guest with all of its memory; libvirt's smaller currentMemory would be a balloon target at boot.
  if (currentMemory !== undefined && memoryBytes !== undefined && currentMemory.bytes !== memoryBytes) {
    fail(currentMemory.path, 'must equal <memory>: hv guests start with all their memory (set a balloon target once running)');
  }
  if (bad.length > 0) throw invalidArgument(bad);
  return { spec, relocate: (err) => relocate(err, where) };
}

/** Spec fields of a device (validate-devices names) → their place inside the device's element. */
const DEVICE_FIELDS: ReadonlyArray<[string, string]> = [
  ['disk.path', 'source/@file'],
  ['disk.serial', 'serial'],
  ['disk.read_only', 'readonly'],
  ['nic.tap', 'target/@dev'],
  ['nic.mac', 'mac/@address'],
  ['balloon.stats_period_seconds', 'stats/@period'],
];

function readOs(os: XmlNode, spec: DomainSpec, fail: (path: string, why: string) => void): void {
  if (os.attrs.firmware !== undefined) fail('os/@firmware', 'firmware boot is not supported: hv boots <kernel> directly');
  spec.boot ??= { kernelPath: '', initrdPath: '', cmdline: '', format: 0, loadAddress: 0, entryAddress: 0 };
  for (const node of os.children) {
    switch (node.name) {
      case 'type':
        if (node.text !== 'hvm') fail('os/type', `"${node.text}" guests are not supported: hvm`);
        if ((node.attrs.arch ?? 'x86_64') !== 'x86_64') fail('os/type/@arch', `"${node.attrs.arch}" is not supported: x86_64`);
        break;
      case 'kernel':
        spec.boot.kernelPath = node.text;
        break;
      case 'initrd':
        spec.boot.initrdPath = node.text;
        break;
      case 'cmdline':
        spec.boot.cmdline = node.text;
        break;
      default:
        if (!IGNORED_OS.has(node.name)) fail(`os/${node.name}`, node.name === 'loader' ? 'firmware boot is not supported: hv boots <kernel> directly' : `<${node.name}> is not supported`);
    }
  }
}

/** hv's own settings: the first <metadata> child in hv's namespace, whatever prefix the document gives it. */
function readMetadata(metadata: XmlNode, spec: DomainSpec, fail: (path: string, why: string) => void, where: Map<string, string>): void {
  for (const node of metadata.children) {
    const prefix = Object.entries(node.attrs).find(([name, value]) => name.startsWith('xmlns:') && value === HV_NAMESPACE)?.[0].slice('xmlns:'.length);
    if (prefix === undefined || node.name !== `${prefix}:domain`) continue;
    const at = `metadata/${node.name}`;
    const boot = child(node, `${prefix}:boot`);
    if (boot) {
      const format = BOOT_FORMAT_NAMES.indexOf(boot.attrs.format as (typeof BOOT_FORMAT_NAMES)[number]);
      if (format < 0) fail(`${at}/${boot.name}/@format`, `"${boot.attrs.format ?? ''}" is not a boot format: ${BOOT_FORMAT_NAMES.join(', ')}`);
      spec.boot ??= { kernelPath: '', initrdPath: '', cmdline: '', format: 0, loadAddress: 0, entryAddress: 0 };
      spec.boot.format = (format + 1) as BootFormat;
      for (const [attr, key] of [['load_address', 'loadAddress'], ['entry_address', 'entryAddress']] as const) {
        const text = boot.attrs[attr];
        if (text === undefined) continue;
        const value = Number(text);
        if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || !Number.isSafeInteger(value)) fail(`${at}/${boot.name}/@${attr}`, `"${text}" is not an address`);
        else spec.boot[key] = value;
        where.set(`boot.${attr}`, `${at}/${boot.name}/@${attr}`);
      }
      where.set('boot.format', `${at}/${boot.name}/@format`);
    }
    const platform = child(node, `${prefix}:platform`);
    if (platform) spec.platform = { debugExit: platform.attrs.debug_exit === 'yes' };
    for (const label of childrenNamed(node, `${prefix}:label`)) spec.labels[label.attrs.key ?? ''] = label.text;
    return;
  }
}

/** The longest prefix of a spec field that `where` knows: "devices[2].disk.path", else "devices[2]", else "devices". */
function knownPrefix(field: string, where: Map<string, string>): string | undefined {
  for (let f = field; f !== ''; ) {
    if (where.has(f)) return f;
    const shorter = f.replace(/(\.[^.[\]]*|\[\d+\])$/, '');
    f = shorter === f ? '' : shorter;
  }
  return undefined;
}

/** Renames spec.* violations to the XML path they came from (the spec field kept in the description when inexact). */
function relocate(err: unknown, where: Map<string, string>): unknown {
  if (!(err instanceof ApiError) || err.fieldViolations.length === 0) return err;
  const violations = err.fieldViolations.map((v) => {
    const field = v.field.replace(/^spec\./, '');
    const prefix = knownPrefix(field, where);
    if (!v.field.startsWith('spec.') || prefix === undefined) return v;
    return { field: `${FIELD}: ${where.get(prefix)}`, description: prefix === field ? v.description : `${v.description} (${v.field})` };
  });
  return invalidArgument(violations);
}
