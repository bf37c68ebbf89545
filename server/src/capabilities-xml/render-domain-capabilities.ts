/**
 * A libvirt <domainCapabilities> document (libvirt's domaincaps.rng; `virsh domcapabilities` prints the same
 * shape) for one domain type, from the same DomainCapabilities message GetDomainCapabilities answers with:
 * - <path>: the engine entry point; <domain>: libvirt's name of the type (libvirt-domain-type.ts); <machine>, <arch>.
 * - <vcpu max>: the type's vCPU bound; left out when the type is unavailable on this host (no bound exists).
 * - <iothreads supported='no'/>: the engine has no I/O threads.
 * - <os supported>: yes when the type can run here. No firmware: guests boot directly from a kernel file, so the
 *   <loader> (firmware) is supported='no' and there is no firmware enum.
 * - <cpu>: every mode supported='no': a DomainSpec cannot choose a guest CPU (no host-passthrough, maximum,
 *   host-model or custom model selection); the engine gives the guest its own CPU.
 * - <memoryBacking supported='no'/>: no choice of memory backing.
 * - <devices>: disk and rng supported exactly when DomainCapabilities lists them (virtio devices, with their
 *   buses and models); graphics, video, hostdev, filesystem, tpm, redirdev and channel are not built.
 * - <features>: none of libvirt's x86 domain features (vmcoreinfo, genid, backingStoreInput, backup, sev, sgx) exist.
 */
import type { DomainCapabilities } from '../../../gen/hypervisor/v1/capabilities_service';
import { libvirtDomainType } from './libvirt-domain-type';
import { ATTR, buildXml, COMMENT } from './xml';

export interface DomainCapabilitiesXmlInput {
  capabilities: DomainCapabilities;
  /** Absolute path of the program that runs the guest (hv's engine entry point). */
  emulator: string;
}

/** domaincaps.rng <devices> children, in the schema's order. */
const DEVICE_ELEMENTS = ['disk', 'graphics', 'video', 'hostdev', 'rng', 'filesystem', 'tpm', 'redirdev', 'channel'] as const;
type DeviceElement = (typeof DEVICE_ELEMENTS)[number];

/**
 * What hv builds for a device kind (DomainCapabilities.device_kinds, DeviceSpec's field names) that has a libvirt
 * <devices> element: the element and its enums in libvirt's names. DiskDevice is a virtio-blk disk backed by a
 * file, RngDevice a virtio-rng fed from the host's random source.
 */
const DEVICE_KINDS: Readonly<Record<string, { element: DeviceElement; enums: Record<string, string[]> }>> = {
  disk: { element: 'disk', enums: { diskDevice: ['disk'], bus: ['virtio'], model: ['virtio'] } },
  rng: { element: 'rng', enums: { model: ['virtio'], backendModel: ['random'] } },
};

/** libvirt's x86 domain features, none of which hv has. */
const ABSENT_FEATURES = ['vmcoreinfo', 'genid', 'backingStoreInput', 'backup', 'sev', 'sgx'] as const;
/** libvirt's guest CPU modes, in domaincaps.rng's required order. */
const CPU_MODES = ['host-passthrough', 'maximum', 'host-model', 'custom'] as const;

function supported(yes: boolean): Record<string, string> {
  return { [`${ATTR}supported`]: yes ? 'yes' : 'no' };
}

function devices(kinds: string[]): Record<string, unknown> {
  const element: Record<string, unknown> = {};
  for (const name of DEVICE_ELEMENTS) element[name] = supported(false);
  for (const kind of kinds) {
    const built = DEVICE_KINDS[kind];
    if (!built) continue;
    element[built.element] = {
      ...supported(true),
      enum: Object.entries(built.enums).map(([name, values]) => ({ [`${ATTR}name`]: name, value: values })),
    };
  }
  return element;
}

/** The <domainCapabilities> document of one domain type. */
export function renderDomainCapabilitiesXml(input: DomainCapabilitiesXmlInput): string {
  const caps = input.capabilities;
  const type = libvirtDomainType(caps.type);
  if (type === undefined) throw new Error(`domain type ${String(caps.type)} has no libvirt name`);
  const root: Record<string, unknown> = {};
  if (!caps.available) root[COMMENT] = ` ${type} domains cannot run on this host: ${caps.unavailableReason} `;
  Object.assign(root, {
    path: input.emulator,
    domain: type,
    machine: caps.machine,
    arch: caps.arch,
  });
  if (caps.available) root.vcpu = { [`${ATTR}max`]: String(caps.maxVcpus) };
  Object.assign(root, {
    iothreads: supported(false),
    os: { ...supported(caps.available), loader: supported(false) },
    cpu: { mode: CPU_MODES.map((name) => ({ [`${ATTR}name`]: name, ...supported(false) })) },
    memoryBacking: supported(false),
    devices: devices(caps.deviceKinds),
    features: Object.fromEntries(ABSENT_FEATURES.map((name) => [name, supported(false)])),
  });
  return buildXml({ domainCapabilities: root });
}
