/**
 * libvirt's own tools as independent judges of hv's libvirt XML: virt-xml-validate (Debian's libvirt-clients)
 * checks a document against libvirt's RelaxNG schemas (shipped in libvirt0 under /usr/share/libvirt/schemas), and
 * virsh with the built-in test driver (test:///default, no daemon) parses CPU definitions with libvirt's cpu_map.
 * When the tools are missing and the tests run as root, they are installed with apt-get, as scripts/setup.sh does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The Debian packages: libvirt-clients (virt-xml-validate, virsh), libvirt0 (schemas and cpu_map), libxml2-utils
 * (xmllint, which virt-xml-validate runs; only recommended by libvirt-clients).
 */
export const LIBVIRT_PACKAGES = ['libvirt-clients', 'libvirt0', 'libxml2-utils'];
export const SCHEMA_DIR = '/usr/share/libvirt/schemas';
export const CPU_MAP_DIR = '/usr/share/libvirt/cpu_map';

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

let availability: string | undefined | null = null;

/** undefined when virt-xml-validate, virsh, the schemas and cpu_map are here (installing them if need be), else why not. */
export function libvirtToolsMissing(): string | undefined {
  if (availability !== null) return availability;
  const present = () =>
    onPath('virt-xml-validate') && onPath('xmllint') && onPath('virsh') && existsSync(SCHEMA_DIR) && existsSync(CPU_MAP_DIR);
  if (!present() && process.getuid?.() === 0 && onPath('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...LIBVIRT_PACKAGES], { env, timeout: 300_000 });
    if (install.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
      install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...LIBVIRT_PACKAGES], { env, timeout: 300_000 });
    }
  }
  availability = present()
    ? undefined
    : `libvirt's tools are not installed and could not be (apt-get install ${LIBVIRT_PACKAGES.join(' ')} as root)`;
  if (availability) console.warn(`skipping libvirt validation: ${availability}`);
  return availability;
}

/** virt-xml-validate's verdict on a document: ok, and what it printed. */
export function validate(xml: string, schema: 'capability' | 'domaincaps' | 'domain'): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hv-xml-'));
  try {
    const file = join(dir, `${schema}.xml`);
    writeFileSync(file, xml);
    const result = spawnSync('virt-xml-validate', [file, schema], { encoding: 'utf8' });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `virsh -c test:///default cpu-baseline --features` of one CPU definition: libvirt parses it with its cpu_map
 * (failing on any name it does not know) and prints the CPU with every feature of its model spelled out.
 */
export function virshCpuBaselineFeatures(cpuXml: string): { model: string; features: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'hv-cpu-'));
  try {
    const file = join(dir, 'cpu.xml');
    writeFileSync(file, cpuXml);
    const out = execFileSync('virsh', ['-c', 'test:///default', 'cpu-baseline', '--features', file], { encoding: 'utf8' });
    return {
      model: /<model[^>]*>([^<]+)<\/model>/.exec(out)?.[1] ?? '',
      features: [...out.matchAll(/<feature policy='require' name='([^']+)'\/>/g)].map((m) => m[1]!),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * libvirt's own reading of a <domain> document: `virsh -c test:///default` defines it in the built-in test driver
 * (libvirt's full domain XML parser, no daemon) and prints it back as `virsh dumpxml` does.
 */
export function virshDefineDumpxml(domainXml: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hv-dom-'));
  try {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, domainXml);
    const out = execFileSync('virsh', ['-q', '-c', 'test:///default', `define ${file}; dumpxml ${name}`], { encoding: 'utf8' });
    return out.slice(out.indexOf('<domain'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
