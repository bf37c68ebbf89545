/**
 * The <capabilities> document rendered from this host's real probe: validated by libvirt's virt-xml-validate
 * against capability.rng, parsed back, and compared with independent sources (lscpu, getconf, /proc, /sys read
 * here, libvirt's own virsh and cpu_map) — never with the code under test.
 */
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainType } from '../../../gen/hypervisor/v1/domain';
import { loadX86CpuMap, readHostDetails, renderCapabilitiesXml } from '../../../server/src/capabilities-xml';
import { createHostProbe, type HostFacts } from '../../../server/src/host';
import { lscpuField, lscpuParse, run } from '../host/independent-sources';
import { CPU_MAP_DIR, libvirtToolsMissing, validate, virshCpuBaselineFeatures } from './libvirt-tools';

type Node = Record<string, unknown> & { '#text'?: string | number };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['cell', 'cpu', 'feature', 'pages', 'sibling', 'guest', 'domain', 'machine', 'secmodel'].includes(name),
});

const EMULATOR = '/opt/hv/engine/src/main.js';

function devKvmOpens(): boolean {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

function render(host: HostFacts): string {
  return renderCapabilitiesXml({
    host,
    details: readHostDetails(),
    cpuMap: loadX86CpuMap(),
    guests: [
      {
        osType: 'hvm',
        arch: 'x86_64',
        wordsize: 64,
        emulator: EMULATOR,
        machines: ['hv-microvm'],
        domainTypes: [
          { type: DomainType.DOMAIN_TYPE_EMULATED, available: true, maxVcpus: 1 },
          { type: DomainType.DOMAIN_TYPE_KVM, available: host.kvm.available, maxVcpus: host.kvm.maxVcpus },
        ],
        features: ['acpi'],
      },
    ],
  });
}

/** libvirt's vocabulary as its cpu_map files spell it, read with regular expressions (not the code under test). */
function cpuMapNames(): { canonical: Set<string>; aliases: Map<string, string> } {
  const text = readFileSync(`${CPU_MAP_DIR}/x86_features.xml`, 'utf8');
  const canonical = new Set<string>();
  const aliases = new Map<string, string>();
  for (const block of text.matchAll(/<feature name='([^']+)'>([\s\S]*?)<\/feature>/g)) {
    canonical.add(block[1]!);
    for (const alias of block[2]!.matchAll(/<alias name='([^']+)'/g)) aliases.set(alias[1]!, block[1]!);
  }
  return { canonical, aliases };
}

function libvirtVendorOf(cpuidVendor: string): string {
  const text = readFileSync(`${CPU_MAP_DIR}/x86_vendors.xml`, 'utf8');
  return new RegExp(`<vendor name='([^']+)' string='${cpuidVendor}'`).exec(text)?.[1] ?? cpuidVendor;
}

const missing = libvirtToolsMissing();

describe.skipIf(missing !== undefined)('renderCapabilitiesXml on this host', () => {
  let xml: string;
  let host: Node;
  let caps: Node;
  beforeAll(() => {
    xml = render(createHostProbe().host());
    caps = parser.parse(xml).capabilities as Node;
    host = caps.host as Node;
  });

  it('validates against libvirt\'s capability.rng (virt-xml-validate)', () => {
    const verdict = validate(xml, 'capability');
    expect(verdict.output).toMatch(/validates/);
    expect(verdict.ok).toBe(true);
  });

  it('<cpu>: arch, libvirt vendor, signature, topology and address bits are lscpu\'s', () => {
    const cpu = host.cpu as Node[];
    const c = cpu[0]!;
    expect(c.arch).toBe(lscpuField('Architecture'));
    expect(c.vendor).toBe(libvirtVendorOf(lscpuField('Vendor ID')));
    expect(c.signature).toEqual({
      family: lscpuField('CPU family'),
      model: lscpuField('Model'),
      stepping: lscpuField('Stepping'),
    });
    const topology = c.topology as Record<string, string>;
    expect(topology.sockets).toBe(lscpuField('Socket(s)'));
    expect(topology.threads).toBe(lscpuField('Thread(s) per core'));
    expect(Number(topology.dies) * Number(topology.cores)).toBe(Number(lscpuField('Core(s) per socket')));
    const bits = /(\d+) bits physical/.exec(lscpuField('Address sizes'))?.[1];
    expect((c.maxphysaddr as Record<string, string>).bits).toBe(bits);
  });

  it('<microcode> exactly when /proc/cpuinfo shows one', () => {
    const line = /^microcode\s*:\s*(\S+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    const microcode = (host.cpu as Node[])[0]!.microcode as Record<string, string> | undefined;
    if (line && Number(line[1]) > 0) expect(microcode).toEqual({ version: String(Number(line[1])) });
    else expect(microcode).toBeUndefined();
  });

  it('<model> plus <feature>s, expanded by libvirt itself (virsh cpu-baseline --features), are lscpu\'s flags', () => {
    const c = (host.cpu as Node[])[0]!;
    const listed = ((c.feature as Node[] | undefined) ?? []).map((f) => String(f.name));
    expect(c.model).toBeTypeOf('string');
    // The names the schema cannot carry are named in the <cpu> comment; hand them to libvirt too.
    const commented = /also: ([^(]+)\(/.exec(xml)?.[1]?.trim().split(/\s+/) ?? [];
    const features = [...listed, ...commented];
    const cpuXml = `<cpu><arch>x86_64</arch><model>${String(c.model)}</model><vendor>${String(c.vendor)}</vendor>${features
      .map((f) => `<feature name='${f}'/>`)
      .join('')}</cpu>`;
    // libvirt refuses any name it does not know; it prints the model's features spelled out.
    const expanded = virshCpuBaselineFeatures(cpuXml).features;
    const flags = new Set(lscpuField('Flags').split(/\s+/));
    const { canonical, aliases } = cpuMapNames();
    const linuxSpellings = (name: string) => [
      name,
      name.replace(/-/g, '_'),
      ...[...aliases].filter(([, target]) => target === name).map(([alias]) => alias),
    ];
    // Every feature libvirt now sees is a flag of this CPU under one of its spellings, or one Linux spells its own
    // way (LINUX below, from arch/x86/include/asm/cpufeatures.h).
    const LINUX: Record<string, string> = {
      'tsc-deadline': 'tsc_deadline_timer',
      cr8legacy: 'cr8_legacy',
      avx512vbmi2: 'avx512_vbmi2',
      avx512vnni: 'avx512_vnni',
      avx512bitalg: 'avx512_bitalg',
      'pause-filter': 'pausefilter',
      'amd-stibp': 'amd_stibp',
      'tsx-ldtrk': 'tsxldtrk',
      sgxlc: 'sgx_lc',
    };
    const notFlags = expanded.filter(
      (name) => !linuxSpellings(name).some((s) => flags.has(s)) && !(LINUX[name] && flags.has(LINUX[name])),
    );
    expect(notFlags).toEqual([]);
    // And every flag that is a libvirt feature by its exact name is among them (ibrs/ibpb/ssbd/stibp excepted:
    // Linux synthesises them from either vendor's bits).
    const expandedSet = new Set(expanded);
    const lost = [...flags].filter(
      (f) => canonical.has(f) && !expandedSet.has(f) && !['ibrs', 'ibpb', 'ssbd', 'stibp'].includes(f),
    );
    expect(lost).toEqual([]);
  });

  it('<cpu><pages>: the base page and every huge page size of /sys/kernel/mm/hugepages', () => {
    const sizes = ((host.cpu as Node[])[0]!.pages as Node[]).map((p) => Number(p.size));
    const huge = existsSync('/sys/kernel/mm/hugepages')
      ? readdirSync('/sys/kernel/mm/hugepages').map((d) => Number(/(\d+)kB/.exec(d)![1]))
      : [];
    expect(sizes.sort((a, b) => a - b)).toEqual([Number(run('getconf', ['PAGESIZE'])) / 1024, ...huge].sort((a, b) => a - b));
    const hugepagesize = /^Hugepagesize:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    if (hugepagesize) expect(sizes).toContain(Number(hugepagesize));
  });

  it('<power_management> says what /sys/power/state offers', () => {
    const states = readFileSync('/sys/power/state', 'utf8').trim().split(/\s+/);
    const pm = host.power_management;
    const targets = pm === '' || pm === undefined ? [] : Object.keys(pm as object).sort();
    const expected = [
      ...(states.includes('mem') ? ['suspend_mem'] : []),
      ...(states.includes('disk') ? ['suspend_disk'] : []),
      ...(states.includes('mem') && states.includes('disk') ? ['suspend_hybrid'] : []),
    ].sort();
    expect(targets).toEqual(expected);
  });

  it('<migration_features> claims neither live migration nor a transport', () => {
    expect(xml).toMatch(/<migration_features>/);
    const migration = host.migration_features as Node | string;
    expect(typeof migration === 'object' ? Object.keys(migration).filter((k) => k !== '#comment') : []).toEqual([]);
  });

  it('<topology>: cells, CPUs, siblings and memory are lscpu\'s, getconf\'s and /proc/meminfo\'s', () => {
    const cells = ((host.topology as Node).cells as Node).cell as Node[];
    expect(String(((host.topology as Node).cells as Node).num)).toBe(String(cells.length));
    expect(cells.length).toBe(Number(lscpuField('NUMA node(s)')));
    const rows = lscpuParse('CPU,CORE,SOCKET,NODE').map((r) => r.map(Number));
    const cpus = cells.flatMap((cell) => ((cell.cpus as Node).cpu as Node[]).map((c) => ({ cell, c })));
    expect(cpus.length).toBe(Number(run('getconf', ['_NPROCESSORS_ONLN']).trim()));
    for (const [cpu, core, , node] of rows) {
      const entry = cpus.find(({ c }) => Number(c.id) === cpu)!;
      expect(Number(entry.cell.id)).toBe(node);
      // Siblings are the CPUs lscpu puts on the same core.
      const siblings = rows.filter((r) => r[1] === core).map((r) => r[0]);
      const listed = String(entry.c.siblings)
        .split(',')
        .flatMap((part) => {
          const [a, b] = part.split('-').map(Number);
          return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
        });
      expect(listed).toEqual(siblings);
    }
    // Each cell's memory is its node's MemTotal. Some hosts move per-node MemTotal on their own, so it is read
    // just before and just after a fresh render and must lie between.
    const nodeKiB = (id: string) =>
      existsSync(`/sys/devices/system/node/node${id}/meminfo`)
        ? Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync(`/sys/devices/system/node/node${id}/meminfo`, 'utf8'))![1])
        : Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    const before = cells.map((cell) => nodeKiB(String(cell.id)));
    const fresh = (((parser.parse(render(createHostProbe().host())).capabilities as Node).host as Node).topology as Node)
      .cells as Node;
    const after = cells.map((cell) => nodeKiB(String(cell.id)));
    (fresh.cell as Node[]).forEach((cell, i) => {
      const memory = Number((cell.memory as Node)['#text']);
      expect(memory).toBeGreaterThanOrEqual(Math.min(before[i]!, after[i]!));
      expect(memory).toBeLessThanOrEqual(Math.max(before[i]!, after[i]!));
    });
    for (const cell of cells) {
      const memory = Number((cell.memory as Node)['#text']);
      const pages = (cell.pages as Node[]).reduce((sum, p) => sum + Number(p.size) * Number(p['#text']), 0);
      expect(Math.abs(pages - memory)).toBeLessThan(4);
      const self = ((cell.distances as Node).sibling as Node[]).find((s) => s.id === cell.id)!;
      expect(self.value).toBe('10');
    }
  });

  it('<uuid> is the SMBIOS system uuid when readable; <secmodel> none', () => {
    const dmi = existsSync('/sys/class/dmi/id/product_uuid') ? readFileSync('/sys/class/dmi/id/product_uuid', 'utf8').trim() : '';
    if (/^[0-9a-f-]{36}$/i.test(dmi) && !/^(0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i.test(dmi)) {
      expect(host.uuid).toBe(dmi.toLowerCase());
    } else {
      expect(host.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    expect(host.secmodel).toEqual([{ model: 'none', doi: '0' }]);
  });

  it('<guest>: hvm x86_64, wordsize from getconf, the engine as emulator, qemu always, kvm only when /dev/kvm opens', () => {
    const guests = caps.guest as Node[];
    expect(guests).toHaveLength(1);
    const g = guests[0]!;
    expect(g.os_type).toBe('hvm');
    const arch = g.arch as Node;
    expect(arch.name).toBe(run('uname', ['-m']).trim());
    expect(String(arch.wordsize)).toBe(run('getconf', ['LONG_BIT']).trim());
    expect(arch.emulator).toBe(EMULATOR);
    expect(arch.machine).toEqual([{ maxCpus: '1', '#text': 'hv-microvm' }]);
    const types = (arch.domain as Node[]).map((d) => d.type);
    expect(types).toEqual(devKvmOpens() ? ['qemu', 'kvm'] : ['qemu']);
    expect(g.features).toEqual({ acpi: { default: 'on', toggle: 'no' } });
  });
});
