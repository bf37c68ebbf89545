/**
 * libvirt's x86 CPU vocabulary, read from its cpu_map directory (Debian's libvirt0 installs it in
 * /usr/share/libvirt/cpu_map; libvirt itself reads the same files at run time).
 *
 * Steps:
 *   1. index.xml lists, under <arch name='x86'>, the files to include: x86_vendors.xml, x86_features.xml, then one
 *      file per CPU model, in libvirt's order (the order matters: libvirt's decoder walks it backwards).
 *   2. x86_vendors.xml maps libvirt vendor names to CPUID vendor strings ("AMD" ↔ "AuthenticAMD").
 *   3. x86_features.xml names every feature libvirt knows (canonical name, plus aliases QEMU or Linux use).
 *   4. each model file holds <model name=…> with <decode host=…>, <signature family= model= [stepping=]>,
 *      <vendor name=…>, an optional parent <model name=…/> whose features it inherits, and <feature name=…/>.
 * Nothing here is hard-coded: when the directory is missing, loadX86CpuMap answers undefined and the caller says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

/** Where Debian's libvirt0 installs libvirt's CPU map. */
export const DEFAULT_CPU_MAP_DIR = '/usr/share/libvirt/cpu_map';
/** The cpu_map arch section for x86 (both i686 and x86_64). */
const X86_ARCH = 'x86';

/** A libvirt CPU feature: its canonical name and the other names it is known by. */
export interface CpuMapFeature {
  name: string;
  aliases: string[];
}

/** A family/model signature a model was made for; steppings [first, last] when restricted. */
export interface CpuMapSignature {
  family: number;
  model: number;
  steppings?: [number, number];
}

export interface CpuMapModel {
  name: string;
  /** libvirt vendor name ("Intel", "AMD", "Hygon"); undefined for vendor-neutral models (qemu64, …). */
  vendor?: string;
  /** Whether libvirt may report this model as a host CPU (<decode host='on'>). */
  decodeHost: boolean;
  signatures: CpuMapSignature[];
  /** Canonical feature names, parent model's included. */
  features: string[];
}

export interface X86CpuMap {
  dir: string;
  /** libvirt vendor name → CPUID vendor string. */
  vendors: Map<string, string>;
  /** Every feature by canonical name. */
  features: Map<string, CpuMapFeature>;
  /** Models in index.xml order. */
  models: CpuMapModel[];
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  isArray: (name) => ['arch', 'include', 'vendor', 'feature', 'alias', 'model', 'signature'].includes(name),
});

function parseFile(dir: string, file: string): Node {
  return parser.parse(readFileSync(join(dir, file), 'utf8')) as Node;
}

function list(node: unknown, key: string): Node[] {
  const value = (node as Node | undefined)?.[key];
  return Array.isArray(value) ? (value as Node[]) : [];
}

function attr(node: Node, name: string): string | undefined {
  const value = node[`@_${name}`];
  return value === undefined ? undefined : String(value);
}

function parseSteppings(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`cpu_map: malformed stepping "${text}"`);
  const first = Number(match[1]);
  return [first, match[2] === undefined ? first : Number(match[2])];
}

function readModel(node: Node, known: Map<string, CpuMapModel>): CpuMapModel {
  const name = attr(node, 'name') ?? '';
  const parentName = list(node, 'model')[0];
  const parent = parentName ? known.get(attr(parentName, 'name') ?? '') : undefined;
  const decode = (node.decode as Node | undefined) ?? {};
  const features = new Set(parent?.features ?? []);
  for (const f of list(node, 'feature')) features.add(attr(f, 'name') ?? '');
  return {
    name,
    vendor: attr(list(node, 'vendor')[0] ?? {}, 'name') ?? parent?.vendor,
    // libvirt's default when <decode> is absent is "on".
    decodeHost: attr(decode, 'host') !== 'off',
    signatures: list(node, 'signature').map((s) => ({
      family: Number(attr(s, 'family')),
      model: Number(attr(s, 'model')),
      steppings: parseSteppings(attr(s, 'stepping')),
    })),
    features: [...features].filter((f) => f !== ''),
  };
}

const cache = new Map<string, X86CpuMap | undefined>();

/** libvirt's x86 CPU map from dir (cached per dir), or undefined when libvirt's map is not installed there. */
export function loadX86CpuMap(dir = DEFAULT_CPU_MAP_DIR): X86CpuMap | undefined {
  if (cache.has(dir)) return cache.get(dir);
  const map = existsSync(join(dir, 'index.xml')) ? readCpuMap(dir) : undefined;
  cache.set(dir, map);
  return map;
}

function readCpuMap(dir: string): X86CpuMap {
  const index = parseFile(dir, 'index.xml');
  const arch = list(index.cpus, 'arch').find((a) => attr(a, 'name') === X86_ARCH);
  if (!arch) throw new Error(`cpu_map: ${dir}/index.xml has no <arch name='${X86_ARCH}'>`);
  const map: X86CpuMap = { dir, vendors: new Map(), features: new Map(), models: [] };
  const byName = new Map<string, CpuMapModel>();
  for (const include of list(arch, 'include')) {
    const cpus = parseFile(dir, attr(include, 'filename') ?? '').cpus as Node | undefined;
    for (const v of list(cpus, 'vendor')) map.vendors.set(attr(v, 'name') ?? '', attr(v, 'string') ?? '');
    for (const f of list(cpus, 'feature')) {
      const name = attr(f, 'name') ?? '';
      map.features.set(name, { name, aliases: list(f, 'alias').map((a) => attr(a, 'name') ?? '') });
    }
    for (const m of list(cpus, 'model')) {
      const model = readModel(m, byName);
      byName.set(model.name, model);
      map.models.push(model);
    }
  }
  return map;
}
