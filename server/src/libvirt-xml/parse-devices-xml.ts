/**
 * <devices> of a libvirt domain document → DeviceSpecs, in document order (their PCI slot order). What hv builds
 * is taken; what libvirt adds to every domain and changes nothing a guest relies on here (<emulator>,
 * <controller>, <input>, <audio>, COM1's <serial>/<console>, the ISA <panic>, PCI <address>es) is ignored; any
 * other device, or a variant hv does not build (a network disk, a bridge interface), is a violation naming it.
 */
import type { DeviceSpec } from '../../../gen/hypervisor/v1/domain';
import { child, childrenNamed, type XmlNode } from './xml-tree';
import { USER_ALIAS_PREFIX } from './hv-metadata';

/** Reports a violation at an XML path (relative to <domain>). */
export type Fail = (path: string, description: string) => void;

/** A device read from the document and where it was (the path names the spec device in error messages). */
export interface ParsedDevice {
  device: DeviceSpec;
  path: string;
}

/** Devices libvirt adds on its own, with nothing for hv to build. */
const IGNORED_DEVICES = new Set(['emulator', 'controller', 'input', 'audio']);
/** Children of a device element that only place it (bus addresses, boot order, libvirt's aliases). */
const PLACEMENT = ['address', 'alias', 'boot'];
/** The pvpanic port on hv's platform. */
const PVPANIC_PORT = 0x505;
const VIRTIO_MODELS = new Set(['virtio', 'virtio-non-transitional']);
const RANDOM_SOURCES = new Set(['', '/dev/urandom', '/dev/random']);

export function parseDevices(devices: XmlNode, fail: Fail): ParsedDevice[] {
  const out: ParsedDevice[] = [];
  const seen = new Map<string, number>();
  for (const node of devices.children) {
    const index = seen.get(node.name) ?? 0;
    seen.set(node.name, index + 1);
    const path = `devices/${node.name}[${index}]`;
    const add = (kind: DeviceSpec['kind']) => out.push({ device: { id: userAlias(node), kind }, path });
    switch (node.name) {
      case 'disk':
        if (checkDisk(node, path, fail)) {
          add({ $case: 'disk', value: { path: child(node, 'source')?.attrs.file ?? '', readOnly: child(node, 'readonly') !== undefined, serial: child(node, 'serial')?.text ?? '' } });
        }
        break;
      case 'interface':
        if (checkInterface(node, path, fail)) {
          add({ $case: 'nic', value: { tap: child(node, 'target')?.attrs.dev ?? '', mac: child(node, 'mac')?.attrs.address ?? '' } });
        }
        break;
      case 'serial':
        checkSerial(node, index, path, fail);
        break;
      case 'console': {
        const target = child(node, 'target')?.attrs.type;
        // A console on the serial target is COM1 seen as a console (libvirt writes both).
        if (target === undefined || target === 'serial') break;
        if (target !== 'virtio') fail(`${path}/target/@type`, `"${target}" consoles are not supported: virtio (or serial for COM1)`);
        else if ((node.attrs.type ?? 'pty') !== 'pty') fail(`${path}/@type`, `"${node.attrs.type}" consoles are not supported: pty (read with StreamConsole)`);
        else add({ $case: 'console', value: {} });
        break;
      }
      case 'rng':
        if (checkRng(node, path, fail)) add({ $case: 'rng', value: {} });
        break;
      case 'memballoon': {
        const model = node.attrs.model ?? '';
        if (model === 'none') break;
        if (!VIRTIO_MODELS.has(model)) {
          fail(`${path}/@model`, `"${model}" balloons are not supported: virtio or none`);
          break;
        }
        const period = child(node, 'stats')?.attrs.period;
        if (period !== undefined && !/^\d+$/.test(period)) fail(`${path}/stats/@period`, `"${period}" is not a number of seconds`);
        add({ $case: 'balloon', value: { deflateOnOom: node.attrs.autodeflate === 'on', statsPeriodSeconds: Number(period ?? 0) } });
        break;
      }
      case 'panic': {
        // Every hv domain has the ISA pvpanic device at 0x505: the document may say so, not ask for another.
        const model = node.attrs.model ?? 'isa';
        const iobase = child(node, 'address')?.attrs.iobase;
        if (model !== 'isa') fail(`${path}/@model`, `"${model}" panic devices are not supported: isa (pvpanic at port 0x505, always present)`);
        else if (iobase !== undefined && Number(iobase) !== PVPANIC_PORT) fail(`${path}/address/@iobase`, 'the pvpanic device is at port 0x505');
        break;
      }
      case 'video':
        if (child(node, 'model')?.attrs.type !== 'none') fail(path, 'video devices are not supported (hv guests have serial and virtio consoles)');
        break;
      default:
        if (!IGNORED_DEVICES.has(node.name)) fail(path, `<${node.name}> devices are not supported`);
    }
  }
  return out;
}

/** A user alias (ua-NAME) is the device's id; the aliases libvirt assigns itself (virtio-disk0) are not kept. */
function userAlias(node: XmlNode): string {
  const name = child(node, 'alias')?.attrs.name ?? '';
  return name.startsWith(USER_ALIAS_PREFIX) ? name.slice(USER_ALIAS_PREFIX.length) : '';
}

/** Reports children of `node` outside `known`; true when there were none. */
function onlyChildren(node: XmlNode, path: string, known: string[], fail: Fail): boolean {
  let ok = true;
  for (const [name, nodes] of new Map(node.children.map((c) => [c.name, childrenNamed(node, c.name)]))) {
    if (known.includes(name) || PLACEMENT.includes(name)) continue;
    // libvirt writes an empty <backingStore/> for a disk without a backing chain.
    if (name === 'backingStore' && nodes.every((n) => n.children.length === 0 && Object.keys(n.attrs).length === 0)) continue;
    fail(`${path}/${name}`, `<${name}> is not supported here`);
    ok = false;
  }
  return ok;
}

function checkDisk(node: XmlNode, path: string, fail: Fail): boolean {
  let ok = onlyChildren(node, path, ['driver', 'source', 'target', 'readonly', 'serial', 'shareable'], fail);
  const check = (good: boolean, at: string, why: string) => {
    if (!good) {
      fail(`${path}/${at}`, why);
      ok = false;
    }
  };
  const type = node.attrs.type ?? 'file';
  check(type === 'file', '@type', `"${type}" disks are not supported: only type='file' (a raw image file)`);
  const device = node.attrs.device ?? 'disk';
  check(device === 'disk', '@device', `"${device}" devices are not supported: only device='disk' (virtio-blk)`);
  const format = child(node, 'driver')?.attrs.type ?? 'raw';
  check(format === 'raw', 'driver/@type', `"${format}" images are not supported: only raw`);
  const bus = child(node, 'target')?.attrs.bus ?? 'virtio';
  check(bus === 'virtio', 'target/@bus', `"${bus}" disks are not supported: only bus='virtio'`);
  return ok;
}

function checkInterface(node: XmlNode, path: string, fail: Fail): boolean {
  const type = node.attrs.type ?? '';
  if (type !== 'ethernet') {
    fail(`${path}/@type`, `"${type}" interfaces are not supported: only type='ethernet' on an existing tap (<target dev='tap0' managed='no'/>)`);
    return false;
  }
  let ok = onlyChildren(node, path, ['mac', 'target', 'model'], fail);
  const managed = child(node, 'target')?.attrs.managed ?? 'no';
  if (managed !== 'no') {
    fail(`${path}/target/@managed`, 'hv attaches to an existing tap and never creates one: managed=\'no\'');
    ok = false;
  }
  const model = child(node, 'model')?.attrs.type;
  if (model === undefined || !VIRTIO_MODELS.has(model)) {
    fail(`${path}/model/@type`, `${model === undefined ? 'required' : `"${model}" is not supported`}: only virtio (<model type='virtio'/>)`);
    ok = false;
  }
  return ok;
}

function checkSerial(node: XmlNode, index: number, path: string, fail: Fail): void {
  const type = node.attrs.type ?? 'pty';
  const port = child(node, 'target')?.attrs.port ?? '0';
  if (index > 0 || port !== '0') fail(index > 0 ? path : `${path}/target/@port`, 'hv guests have one serial port, COM1 (port 0)');
  else if (type !== 'pty') fail(`${path}/@type`, `"${type}" serial ports are not supported: pty (COM1, read with StreamConsole)`);
}

function checkRng(node: XmlNode, path: string, fail: Fail): boolean {
  const model = node.attrs.model ?? '';
  const backend = child(node, 'backend');
  if (!VIRTIO_MODELS.has(model)) fail(`${path}/@model`, `"${model}" is not supported: virtio`);
  else if (backend?.attrs.model !== 'random') fail(`${path}/backend/@model`, `"${backend?.attrs.model ?? ''}" backends are not supported: random (the host's random source)`);
  else if (!RANDOM_SOURCES.has(backend.text)) fail(`${path}/backend`, `"${backend.text}" is not supported: /dev/urandom or /dev/random`);
  else return onlyChildren(node, path, ['backend'], fail);
  return false;
}
