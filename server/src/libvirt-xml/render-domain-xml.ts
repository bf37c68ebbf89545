/**
 * A DomainSpec as a libvirt <domain> document (domain.rng), the way `virsh dumpxml` prints a direct-kernel-boot
 * guest, so libvirt users and tools can read it and ImportLibvirtXml takes it back unchanged:
 * - <domain type>: kvm or qemu (libvirt-domain-type.ts); name, uuid; memory in KiB (<maxMemory> only when
 *   memory hotplug has room); <vcpu current> of the maximum.
 * - <os>: hvm on x86_64 with <kernel>, <initrd>, <cmdline>: guests boot straight from a kernel, never firmware.
 * - on_poweroff / on_reboot / on_crash when the spec sets them (unset keeps hv's defaults, as libvirt's).
 * - <devices>: COM1 as <serial>/<console type='pty'> (every domain has it), the spec's devices in their order
 *   (their order is their PCI slot order), then the ISA pvpanic device as <panic model='isa'> at port 0x505.
 * - hv's own settings in <metadata> (hv-metadata.ts).
 */
import { BootFormat, LifecycleAction, type DeviceSpec, type DomainSpec } from '../../../gen/hypervisor/v1/domain';
import { libvirtDomainType } from '../capabilities-xml/libvirt-domain-type';
import { ATTR, buildOrderedXml, CHILDREN, TEXT } from '../capabilities-xml/xml';
import { BOOT_FORMAT_NAMES, HV_NAMESPACE, HV_PREFIX, USER_ALIAS_PREFIX } from './hv-metadata';

type Element = Record<string, unknown>;

const KIB = 1024;
/** pvpanic's port: fixed on hv's platform. */
const PVPANIC_PORT = '0x505';

const ACTIONS: Partial<Record<LifecycleAction, string>> = {
  [LifecycleAction.LIFECYCLE_ACTION_DESTROY]: 'destroy',
  [LifecycleAction.LIFECYCLE_ACTION_RESTART]: 'restart',
  [LifecycleAction.LIFECYCLE_ACTION_PRESERVE]: 'preserve',
};

const attrs = (values: Record<string, string | number>): Element =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [`${ATTR}${k}`, String(v)]));
const kib = (bytes: number): Element => ({ ...attrs({ unit: 'KiB' }), [TEXT]: String(bytes / KIB) });
const hex = (n: number): string => `0x${n.toString(16)}`;

/** libvirt's disk names: vda … vdz, vdaa … */
export function diskTarget(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(97 + ((n - 1) % 26)) + name;
  return `vd${name}`;
}

/** The <domain> document of a spec (a validated one: uuid set, maxima defaulted). */
export function renderDomainXml(spec: DomainSpec): string {
  const type = libvirtDomainType(spec.type);
  if (type === undefined) throw new Error(`domain type ${String(spec.type)} has no libvirt name`);
  const memory = spec.memory ?? { currentBytes: 0, maxBytes: 0 };
  const vcpus = spec.vcpus ?? { current: 0, max: 0 };
  const boot = spec.boot;
  const domain: Element = { ...attrs({ type }), name: spec.name, uuid: spec.uuid };
  const metadata = hvMetadata(spec);
  if (metadata) domain.metadata = metadata;
  // libvirt's <maxMemory> is the memory hotplug bound; it needs a slot count, one is enough to say "room".
  if (memory.maxBytes > memory.currentBytes) domain.maxMemory = { ...kib(memory.maxBytes), ...attrs({ slots: 1 }) };
  domain.memory = kib(memory.currentBytes);
  domain.currentMemory = kib(memory.currentBytes);
  domain.vcpu = { ...attrs({ placement: 'static', current: vcpus.current }), [TEXT]: String(Math.max(vcpus.max, vcpus.current)) };
  const os: Element = { type: { ...attrs({ arch: 'x86_64' }), [TEXT]: 'hvm' } };
  if (boot?.kernelPath) os.kernel = boot.kernelPath;
  if (boot?.initrdPath) os.initrd = boot.initrdPath;
  if (boot?.cmdline) os.cmdline = boot.cmdline;
  domain.os = os;
  const lifecycle = spec.lifecycle;
  for (const [element, action] of [['on_poweroff', lifecycle?.onPoweroff], ['on_reboot', lifecycle?.onReboot], ['on_crash', lifecycle?.onCrash]] as const) {
    const name = action !== undefined ? ACTIONS[action] : undefined;
    if (name) domain[element] = name;
  }
  domain.devices = { [CHILDREN]: devices(spec.devices) };
  return buildOrderedXml({ domain });
}

function hvMetadata(spec: DomainSpec): Element | undefined {
  const hv: Element = {};
  const boot = spec.boot;
  if (boot && boot.format !== BootFormat.BOOT_FORMAT_UNSPECIFIED && boot.format !== BootFormat.UNRECOGNIZED) {
    const values: Record<string, string> = { format: BOOT_FORMAT_NAMES[boot.format - 1]! };
    if (boot.format === BootFormat.BOOT_FORMAT_RAW) Object.assign(values, { load_address: hex(boot.loadAddress), entry_address: hex(boot.entryAddress) });
    hv[`${HV_PREFIX}:boot`] = attrs(values);
  }
  if (spec.platform?.debugExit) hv[`${HV_PREFIX}:platform`] = attrs({ debug_exit: 'yes' });
  const labels = Object.entries(spec.labels).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) hv[`${HV_PREFIX}:label`] = labels.map(([key, value]) => ({ ...attrs({ key }), [TEXT]: value }));
  if (Object.keys(hv).length === 0) return undefined;
  return { [`${HV_PREFIX}:domain`]: { ...attrs({ [`xmlns:${HV_PREFIX}`]: HV_NAMESPACE }), ...hv } };
}

/** <devices> children in document order: the spec's devices keep their order (domain.rng interleaves devices). */
function devices(list: DeviceSpec[]): Element[] {
  const out: Element[] = [
    { serial: { ...attrs({ type: 'pty' }), target: attrs({ port: 0 }) } },
    { console: { ...attrs({ type: 'pty' }), target: attrs({ type: 'serial', port: 0 }) } },
  ];
  let disks = 0;
  let consoles = 0;
  let balloon = false;
  for (const device of list) {
    const alias = { alias: attrs({ name: `${USER_ALIAS_PREFIX}${device.id}` }) };
    const kind = device.kind;
    switch (kind?.$case) {
      case 'disk': {
        const disk: Element = {
          ...attrs({ type: 'file', device: 'disk' }),
          driver: attrs({ name: 'qemu', type: 'raw' }),
          source: attrs({ file: kind.value.path }),
          target: attrs({ dev: diskTarget(disks++), bus: 'virtio' }),
        };
        if (kind.value.readOnly) disk.readonly = '';
        if (kind.value.serial) disk.serial = kind.value.serial;
        out.push({ disk: { ...disk, ...alias } });
        break;
      }
      case 'nic':
        out.push({
          interface: {
            ...attrs({ type: 'ethernet' }),
            mac: attrs({ address: kind.value.mac }),
            target: attrs({ dev: kind.value.tap, managed: 'no' }),
            model: attrs({ type: 'virtio' }),
            ...alias,
          },
        });
        break;
      case 'console':
        out.push({ console: { ...attrs({ type: 'pty' }), target: attrs({ type: 'virtio', port: consoles++ }), ...alias } });
        break;
      case 'rng':
        out.push({ rng: { ...attrs({ model: 'virtio' }), backend: { ...attrs({ model: 'random' }), [TEXT]: '/dev/urandom' }, ...alias } });
        break;
      case 'balloon': {
        const { deflateOnOom, statsPeriodSeconds } = kind.value;
        const memballoon: Element = { ...attrs(deflateOnOom ? { model: 'virtio', autodeflate: 'on' } : { model: 'virtio' }), ...alias };
        if (statsPeriodSeconds > 0) memballoon.stats = attrs({ period: statsPeriodSeconds });
        out.push({ memballoon });
        balloon = true;
        break;
      }
      case 'pvpanic':
      case undefined:
        break;
    }
  }
  // libvirt adds a virtio balloon to a domain that names none: say there is none.
  if (!balloon) out.push({ memballoon: attrs({ model: 'none' }) });
  out.push({ panic: { ...attrs({ model: 'isa' }), address: attrs({ type: 'isa', iobase: PVPANIC_PORT }) } });
  return out;
}
