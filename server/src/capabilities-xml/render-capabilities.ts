/**
 * A libvirt <capabilities> document (libvirt's capability.rng; `virsh capabilities` prints the same shape) from
 * the host's measured facts and hv's guest capabilities. Nothing in it is configured or invented:
 * - <host><cpu>: arch, vendor, signature and topology from HostFacts; <model> is the closest libvirt model
 *   (cpu-model.ts: libvirt's own choice rule over libvirt's installed cpu_map) and the <feature>s are the host
 *   features that model does not already imply, in libvirt's names (cpu-features.ts). Without libvirt's cpu_map
 *   there is no libvirt vocabulary to speak: <model> and <feature>s are left out and a comment says why.
 *   Feature names the schema does not allow in a host CPU (cpu_map's "sse4.1"/"sse4.2", with a dot) cannot be
 *   <feature>s; when the model does not imply them a comment inside <cpu> names them instead.
 *   <microcode> and <maxphysaddr> only when /proc/cpuinfo shows them. No <counter>: the TSC frequency is not
 *   measured.
 * - <power_management>: the sleep states of /sys/power/state ("mem" → suspend_mem, "disk" → suspend_disk, both →
 *   suspend_hybrid).
 * - <iommu support>: whether the kernel has IOMMU groups.
 * - <migration_features>: empty: hv has no live migration and no migration transport yet.
 * - <topology>: the NUMA cells with memory, base and huge page counts, distances and CPUs with their topology ids.
 * - <secmodel>: HostFacts' security models.
 * - <guest>: one per guest architecture, its domain types in libvirt's names (libvirt-domain-type.ts).
 */
import type { HostFacts } from '../host';
import type { X86CpuMap } from './cpu-map';
import { libvirtFeatures } from './cpu-features';
import { decodeHostCpuModel, libvirtVendorName } from './cpu-model';
import { X86_64_BASE_PAGE_KIB, type HostDetails, type PageCount } from './host-details';
import { libvirtDomainType } from './libvirt-domain-type';
import type { DomainType } from '../../../gen/hypervisor/v1/domain';
import { ATTR, buildXml, COMMENT, TEXT } from './xml';

/** One domain type of a guest, with its vCPU bound on this host. */
export interface GuestDomainTypeXml {
  type: DomainType;
  available: boolean;
  maxVcpus: number;
}

/** A guest architecture hv runs. */
export interface GuestXml {
  /** "hvm". */
  osType: string;
  arch: string;
  wordsize: number;
  /** Absolute path of the program that runs the guest (hv's engine entry point). */
  emulator: string;
  machines: string[];
  domainTypes: GuestDomainTypeXml[];
  /** libvirt <guest><features> names ("acpi", "apic", …). */
  features: string[];
}

export interface CapabilitiesXmlInput {
  host: HostFacts;
  details: HostDetails;
  /** libvirt's x86 cpu_map; undefined when it is not installed. */
  cpuMap?: X86CpuMap;
  guests: GuestXml[];
}

/** capability.rng's pattern for host CPU feature names (cputypes.rng, hostcpu). */
const HOST_FEATURE_NAME = /^[a-zA-Z0-9_-]+$/;
/** Host CPU virtualisation extensions libvirt shows under <cpu><features>. */
const VIRT_EXTENSIONS = ['vmx', 'svm'] as const;
/** <guest><features> that carry toggle/default attributes in capability.rng. */
const TOGGLED_GUEST_FEATURES = new Set(['acpi', 'apic', 'disksnapshot', 'hap']);
/** <guest><features> that are empty elements in capability.rng. */
const PLAIN_GUEST_FEATURES = new Set(['pae', 'nonpae', 'ia64_be', 'cpuselection', 'deviceboot']);

const KIB = 1024;

function attrs(values: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${ATTR}${k}`, String(v)]));
}

function hostCpu(input: CapabilitiesXmlInput): Record<string, unknown> {
  const { host, details, cpuMap } = input;
  const { cpu, topology } = host;
  const element: Record<string, unknown> = { arch: cpu.arch };
  const virt = VIRT_EXTENSIONS.filter((f) => cpu.features.includes(f));
  if (virt.length > 0) element.features = Object.fromEntries(virt.map((f) => [f, '']));
  let features: string[] = [];
  if (cpuMap) {
    const names = libvirtFeatures(cpu.features, cpuMap);
    const decoded = decodeHostCpuModel(
      { vendorString: cpu.vendor, family: cpu.family, model: cpu.model, stepping: cpu.stepping, features: names },
      cpuMap,
    );
    if (decoded) element.model = decoded.model;
    element.vendor = libvirtVendorName(cpu.vendor, cpuMap) ?? cpu.vendor;
    const listed = decoded ? decoded.extraFeatures : names;
    features = listed.filter((f) => HOST_FEATURE_NAME.test(f));
    const unnamable = listed.filter((f) => !HOST_FEATURE_NAME.test(f));
    if (unnamable.length > 0) {
      element[COMMENT] = ` also: ${unnamable.join(' ')} (capability.rng allows no such names in a host CPU) `;
    }
  } else {
    element[COMMENT] = ` libvirt's cpu_map is not installed: no libvirt model or feature names to report `;
    element.vendor = cpu.vendor;
  }
  if (details.microcode !== undefined && details.microcode > 0) element.microcode = attrs({ version: details.microcode });
  if (cpu.family > 0) element.signature = attrs({ family: cpu.family, model: cpu.model, stepping: cpu.stepping });
  if (topology.sockets > 0 && topology.coresPerSocket > 0 && topology.threadsPerCore > 0) {
    const dies = details.diesPerSocket;
    element.topology = attrs({
      sockets: topology.sockets,
      dies,
      cores: Math.max(1, Math.floor(topology.coresPerSocket / dies)),
      threads: topology.threadsPerCore,
    });
  }
  if (details.physAddrBits !== undefined) element.maxphysaddr = attrs({ mode: 'passthrough', bits: details.physAddrBits });
  element.feature = features.map((name) => attrs({ name }));
  element.pages = [X86_64_BASE_PAGE_KIB, ...details.hugePages.map((p) => p.sizeKiB)].map((size) =>
    attrs({ unit: 'KiB', size }),
  );
  return element;
}

function powerManagement(states: string[]): Record<string, string> | string {
  const mem = states.includes('mem');
  const disk = states.includes('disk');
  const targets: Record<string, string> = {};
  if (mem) targets.suspend_mem = '';
  if (disk) targets.suspend_disk = '';
  if (mem && disk) targets.suspend_hybrid = '';
  return Object.keys(targets).length > 0 ? targets : '';
}

function cellPages(memoryKiB: number, huge: PageCount[]): Record<string, unknown>[] {
  const hugeKiB = huge.reduce((sum, p) => sum + p.sizeKiB * p.count, 0);
  const base = Math.max(0, Math.floor((memoryKiB - hugeKiB) / X86_64_BASE_PAGE_KIB));
  return [{ sizeKiB: X86_64_BASE_PAGE_KIB, count: base }, ...huge].map((p) => ({
    ...attrs({ unit: 'KiB', size: p.sizeKiB }),
    [TEXT]: p.count,
  }));
}

function topology(input: CapabilitiesXmlInput): Record<string, unknown> {
  const { host, details } = input;
  const cells = host.numaCells.map((cell) => {
    const memoryKiB = Math.floor(cell.memoryBytes / KIB);
    return {
      ...attrs({ id: cell.id }),
      memory: { ...attrs({ unit: 'KiB' }), [TEXT]: memoryKiB },
      pages: cellPages(memoryKiB, details.hugePagesByNode.get(cell.id) ?? details.hugePages),
      distances: {
        sibling: cell.distances.map((value, i) => attrs({ id: host.numaCells[i]?.id ?? i, value })),
      },
      cpus: {
        ...attrs({ num: cell.cpus.length }),
        cpu: cell.cpus.map((id) => {
          const ids = details.cpuTopology.get(id);
          return ids
            ? attrs({ id, socket_id: ids.socketId, die_id: ids.dieId, core_id: ids.coreId, siblings: ids.siblings })
            : attrs({ id });
        }),
      },
    };
  });
  return { cells: { ...attrs({ num: cells.length }), cell: cells } };
}

function guestFeatures(features: string[]): Record<string, unknown> | undefined {
  const element: Record<string, unknown> = {};
  for (const name of features) {
    // Always on and not switchable in a DomainSpec: default on, toggle no.
    if (TOGGLED_GUEST_FEATURES.has(name)) element[name] = attrs({ default: 'on', toggle: 'no' });
    else if (PLAIN_GUEST_FEATURES.has(name)) element[name] = '';
  }
  return Object.keys(element).length > 0 ? element : undefined;
}

function guest(g: GuestXml): Record<string, unknown> {
  const available = g.domainTypes.filter((t) => t.available && libvirtDomainType(t.type) !== undefined);
  // Arch-level machines carry the first type's vCPU bound; a type with another bound lists its own machines.
  const baseMax = available[0]?.maxVcpus;
  const machines = (max: number | undefined) =>
    g.machines.map((name) => (max ? { ...attrs({ maxCpus: max }), [TEXT]: name } : name));
  const element: Record<string, unknown> = {
    os_type: g.osType,
    arch: {
      ...attrs({ name: g.arch }),
      wordsize: g.wordsize,
      emulator: g.emulator,
      machine: machines(baseMax),
      domain: available.map((t) => ({
        ...attrs({ type: libvirtDomainType(t.type)! }),
        ...(t.maxVcpus !== baseMax ? { machine: machines(t.maxVcpus) } : {}),
      })),
    },
  };
  const features = guestFeatures(g.features);
  if (features) element.features = features;
  return element;
}

/** The <capabilities> document. */
export function renderCapabilitiesXml(input: CapabilitiesXmlInput): string {
  const { host, details } = input;
  const hostElement: Record<string, unknown> = {};
  if (host.uuid !== '') hostElement.uuid = host.uuid;
  hostElement.cpu = hostCpu(input);
  hostElement.power_management = powerManagement(details.sleepStates);
  hostElement.iommu = attrs({ support: details.iommu ? 'yes' : 'no' });
  hostElement.migration_features = { [COMMENT]: ' no live migration and no migration transports yet ' };
  if (host.numaCells.length > 0) hostElement.topology = topology(input);
  hostElement.secmodel = host.secmodels.map((s) => ({ model: s.model, doi: s.doi }));
  return buildXml({
    capabilities: {
      host: hostElement,
      // capability.rng requires at least one <domain> per guest arch: a guest with no available type is left out.
      guest: input.guests.filter((g) => g.domainTypes.some((t) => t.available)).map(guest),
    },
  });
}
