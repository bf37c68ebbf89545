import {
  type CapabilitiesServiceServer,
  type DomainCapabilities,
  type GetCapabilitiesRequest,
  type GetCapabilitiesResponse,
  type GetCapabilitiesXmlRequest,
  type GetCapabilitiesXmlResponse,
  type GetDomainCapabilitiesRequest,
  type GetDomainCapabilitiesResponse,
  type GuestCapabilities,
  type HostCapabilities,
} from '../../../gen/hypervisor/v1/capabilities_service';
import { BootFormat, DomainType } from '../../../gen/hypervisor/v1/domain';
import {
  DEFAULT_CPU_MAP_DIR,
  loadX86CpuMap,
  readHostDetails,
  renderCapabilitiesXml,
  renderDomainCapabilitiesXml,
  type GuestXml,
} from '../capabilities-xml';
import { defaultEngineMain } from '../engine/engine-process';
import { invalidField } from '../errors';
import { unary } from '../grpc/handle';
import type { HostFacts, HostProbe } from '../host';
import { DEVICE_KINDS } from '../domains/validate-devices';
import { domainTypeLimits } from './domain-limits';

/** The guest architecture: x86-64 guests in long mode. */
const GUEST_ARCH = 'x86_64';
const GUEST_WORDSIZE = 64;
/** libvirt's os type for fully virtualised guests. */
const GUEST_OS_TYPE = 'hvm';
/** The one machine type: the hv microvm platform (DESIGN.md, "The guest-visible platform"). */
const MACHINE = 'hv-microvm';
/** Domain types in the order they are reported. */
const DOMAIN_TYPES = [DomainType.DOMAIN_TYPE_EMULATED, DomainType.DOMAIN_TYPE_KVM] as const;
/**
 * Guest features in libvirt's <guest><features> vocabulary, only those the platform implements now:
 * - "acpi": the ACPI PM1a event/control blocks (power button, S5 soft-off; engine/src/devices/acpi-pm.ts). The
 *   tables that let an OS find them (RSDP/XSDT/FADT) are not written yet (PVH start_info rsdp_paddr is 0): guests
 *   that know the platform's fixed ports use them today.
 * Not listed: "apic" (the EMULATED CPU has no local APIC), "pae"/"nonpae" (libvirt lists them for i686 guests
 * only), "cpuselection", "deviceboot", "disksnapshot" (none exist yet).
 */
const GUEST_FEATURES = ['acpi'] as const;
/**
 * Kernel formats a domain can boot: PVH ELF, Linux bzImage (the x86 64-bit boot protocol) and raw flat binaries.
 */
const BOOT_FORMATS = [BootFormat.BOOT_FORMAT_PVH, BootFormat.BOOT_FORMAT_LINUX, BootFormat.BOOT_FORMAT_RAW] as const;
/** Optional platform devices a spec can enable: QEMU-compatible isa-debug-exit at 0xf4 (PlatformSpec.debug_exit). */
const PLATFORM_FEATURES = ['debug_exit'] as const;

function hostCapabilities(host: HostFacts): HostCapabilities {
  const { cpu, topology, kvm } = host;
  return {
    uuid: host.uuid,
    cpu: {
      arch: cpu.arch,
      vendor: cpu.vendor,
      modelName: cpu.modelName,
      family: cpu.family,
      model: cpu.model,
      stepping: cpu.stepping,
      features: cpu.features,
      signature: cpu.signature,
    },
    topology: {
      sockets: topology.sockets,
      coresPerSocket: topology.coresPerSocket,
      threadsPerCore: topology.threadsPerCore,
      onlineCpus: topology.onlineCpus,
    },
    numaCells: host.numaCells.map((c) => ({ id: c.id, memoryBytes: c.memoryBytes, cpus: c.cpus, distances: c.distances })),
    memoryBytes: host.memoryBytes,
    kvm: {
      available: kvm.available,
      unavailableReason: kvm.unavailableReason,
      apiVersion: kvm.apiVersion,
      extensions: kvm.extensions,
      maxVcpus: kvm.maxVcpus,
      recommendedVcpus: kvm.recommendedVcpus,
    },
    secmodels: host.secmodels,
    hostname: host.hostname,
    kernelRelease: host.kernelRelease,
  };
}

function guestCapabilities(host: HostFacts): GuestCapabilities {
  return {
    osType: GUEST_OS_TYPE,
    arch: GUEST_ARCH,
    wordsize: GUEST_WORDSIZE,
    machines: [MACHINE],
    domainTypes: DOMAIN_TYPES.map((type) => {
      const { available, unavailableReason } = domainTypeLimits(host, type);
      return { type, available, unavailableReason };
    }),
    features: [...GUEST_FEATURES],
  };
}

function domainCapabilities(host: HostFacts, type: DomainType): DomainCapabilities {
  const limits = domainTypeLimits(host, type);
  return {
    type,
    available: limits.available,
    unavailableReason: limits.unavailableReason,
    arch: GUEST_ARCH,
    machine: MACHINE,
    maxVcpus: limits.maxVcpus,
    maxMemoryBytes: limits.maxMemoryBytes,
    bootFormats: [...BOOT_FORMATS],
    deviceKinds: [...DEVICE_KINDS],
    // Nothing can be hotplugged yet.
    hotplug: { vcpus: false, memory: false, deviceKinds: [] },
    platformFeatures: [...PLATFORM_FEATURES],
  };
}

/** Where the libvirt XML forms find what HostFacts does not hold. */
export interface CapabilitiesServiceOptions {
  /** The engine entry point, reported as the guests' <emulator> (default: the compiled engine beside hvd). */
  engineMain?: string;
  /** libvirt's cpu_map, for libvirt's CPU model and feature names (default: Debian libvirt0's). */
  cpuMapDir?: string;
  /** Mount points of sysfs and procfs for the details only the XML shows. */
  sysRoot?: string;
  procRoot?: string;
}

/** The guest of the <capabilities> XML: the guest capabilities with each domain type's vCPU bound. */
function guestXml(host: HostFacts, emulator: string): GuestXml {
  const guest = guestCapabilities(host);
  return {
    osType: guest.osType,
    arch: guest.arch,
    wordsize: guest.wordsize,
    emulator,
    machines: guest.machines,
    domainTypes: guest.domainTypes.map((t) => ({
      type: t.type,
      available: t.available,
      maxVcpus: domainTypeLimits(host, t.type).maxVcpus,
    })),
    features: guest.features,
  };
}

/** The CapabilitiesService: host facts from the probe (read per call), guest and domain-type limits from them. */
export function createCapabilitiesService(
  probe: HostProbe,
  options: CapabilitiesServiceOptions = {},
): CapabilitiesServiceServer {
  const emulator = options.engineMain ?? defaultEngineMain();
  const cpuMapDir = options.cpuMapDir ?? DEFAULT_CPU_MAP_DIR;
  return {
    getCapabilities: unary<GetCapabilitiesRequest, GetCapabilitiesResponse>(() => {
      const host = probe.host();
      return { capabilities: { host: hostCapabilities(host), guests: [guestCapabilities(host)] } };
    }),
    getCapabilitiesXml: unary<GetCapabilitiesXmlRequest, GetCapabilitiesXmlResponse>(() => {
      const host = probe.host();
      const xml = renderCapabilitiesXml({
        host,
        details: readHostDetails({ sysRoot: options.sysRoot, procRoot: options.procRoot }),
        cpuMap: loadX86CpuMap(cpuMapDir),
        guests: [guestXml(host, emulator)],
      });
      return { xml };
    }),
    getDomainCapabilities: unary<GetDomainCapabilitiesRequest, GetDomainCapabilitiesResponse>((request) => {
        if (!(DOMAIN_TYPES as readonly DomainType[]).includes(request.type)) {
          throw invalidField(
            'type',
            request.type === DomainType.DOMAIN_TYPE_UNSPECIFIED
              ? 'required: DOMAIN_TYPE_KVM or DOMAIN_TYPE_EMULATED'
              : `unknown domain type ${String(request.type)}: DOMAIN_TYPE_KVM or DOMAIN_TYPE_EMULATED`,
          );
        }
        const capabilities = domainCapabilities(probe.host(), request.type);
        return { capabilities, xml: renderDomainCapabilitiesXml({ capabilities, emulator }) };
    }),
  };
}
