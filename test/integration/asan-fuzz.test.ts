/**
 * The hostile-guest fuzz runs (issue 3 point 7) against the AddressSanitizer + UBSan build of the addon: hvd
 * runs with HV_ENGINE_BUILD=asan, so every engine loads engine/native/asan/build's addon with libasan preloaded,
 * and sends any ASan report to this test's directory (ASAN_OPTIONS log_path). A report, or an engine that died
 * (every ASan or UBSan finding aborts it; UBSan prints to the engine's stderr), fails the test. Positive controls prove the scan sees reports and that guest RAM's guard
 * regions fault. Unicorn (libunicorn) is not instrumented: ASan sees its heap (malloc is intercepted), not its
 * loads and stores.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DomainState, type DeviceSpec } from '../../gen/hypervisor/v1/domain';
import { PCI_ECAM_START } from '../../engine/src/platform/layout';
import { engineEnv } from '../../engine/src/native/sanitizer-env';
import { createKnownDisk } from '../guests/virtio-disk-image';
import { domainCalls, guestSpec } from '../support/domains';
import { REPO, startHvd, type HvdUnderTest } from '../support/hvd-process';
import { guardProblem, ramMappingsOf, readMaps } from '../support/proc-maps';

const guests = inject('guests');
const BUILD_TIMEOUT_MS = 600_000;
const FUZZ_TIMEOUT_MS = 300_000;
const MEMORY = 48 << 20;
const ADDON_MAIN = path.join(REPO, 'dist/engine/src/native/addon.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-asan-'));
const reportDir = path.join(dir, 'reports');
let hvd: HvdUnderTest;
const calls = domainCalls(() => hvd.clients.domains);

/** Every ASan report written under `at` (files asan.<pid>), with its text. */
function reports(at: string): { file: string; text: string }[] {
  if (!fs.existsSync(at)) return [];
  return fs
    .readdirSync(at)
    .filter((file) => /^asan\.\d+$/.test(file))
    .map((file) => ({ file, text: fs.readFileSync(path.join(at, file), 'utf8') }));
}

/** hvd's (or a probe's) environment: engines on the sanitizer build, ASan logging under `at`. */
function logTo(at: string, extra = ''): NodeJS.ProcessEnv {
  fs.mkdirSync(at, { recursive: true });
  return { ...process.env, HV_ENGINE_BUILD: 'asan', ASAN_OPTIONS: `log_path=${at}/asan${extra}` };
}

/** Runs `code` in a child node with the sanitizer addon loaded exactly as an engine gets it (engineEnv). */
function probe(code: string, env: NodeJS.ProcessEnv) {
  const script = `const { native } = require(${JSON.stringify(ADDON_MAIN)}); ${code}`;
  return spawnSync(process.execPath, ['-e', script], { env: engineEnv(env), encoding: 'utf8' });
}

beforeAll(async () => {
  // Built once, only when a source is newer than the sanitizer addon (engine/native/build-asan.sh --if-stale).
  execFileSync('bash', [path.join(REPO, 'engine/native/build-asan.sh'), '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  hvd = await startHvd(undefined, [], { env: logTo(reportDir) });
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await hvd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const disk = (file: string): DeviceSpec => ({ id: '', kind: { $case: 'disk', value: { path: file, readOnly: false, serial: 'fuzz' } } });
const rng = (): DeviceSpec => ({ id: '', kind: { $case: 'rng', value: {} } });

describe('hostile guests against engines running the AddressSanitizer build', () => {
  it('virtio fuzz guest: random descriptors, 10^6-long chains and random BAR registers; the engine stays up, logs, reports nothing', async () => {
    const spec = guestSpec(guests.pvh, 'action=virtio-fuzz:3000', { memory: { currentBytes: MEMORY }, devices: [disk(createKnownDisk(64)), rng()] });
    const { domain, console } = await calls.boot(spec);
    // The engine ending first (a sanitizer abort, a crash) fails at once, with whatever the sanitizers wrote.
    const ended = await Promise.race([console.waitFor(/hv-guest: halting/, FUZZ_TIMEOUT_MS).then(() => undefined), console.ended]);
    if (ended) throw new Error(`engine ended before the guest halted (${JSON.stringify(ended.closed)}):\n${console.output}\n${JSON.stringify(reports(reportDir))}`);
    expect(console.output).toMatch(/hv-guest: virtio-fuzz virtio-blk rounds=3000 bars=1 reinits=\d+ after=ok/);
    expect(console.output).toMatch(/hv-guest: virtio-fuzz virtio-rng rounds=3000 bars=1 reinits=\d+ after=ok/);

    // Survived: still RUNNING, on the sanitizer build, and it logged what it refused.
    expect((await calls.get(domain.id)).status?.state).toBe(DomainState.DOMAIN_STATE_RUNNING);
    const [pid] = hvd.enginePids();
    const maps = readMaps(pid);
    expect(maps.some((m) => m.path.endsWith('engine/native/asan/build/Release/hv_native.node'))).toBe(true);
    expect(maps.some((m) => /\/libasan\.so/.test(m.path))).toBe(true);
    const log = fs.readFileSync(path.join(hvd.runDir, fs.readdirSync(hvd.runDir)[0], 'stderr.log'), 'utf8');
    expect(log).toMatch(/not inside guest RAM/);
    expect(log).toMatch(/queue broken until reset/);
    expect(log).toMatch(/indirect table of 1000000 descriptors/); // the 10^6-long chain reached the device
    expect(log).toMatch(/chain longer than its table .*a loop/);

    // Guest RAM in the engine, as the kernel maps it: PROT_NONE guards right before and after it.
    const ram = ramMappingsOf(maps, MEMORY);
    expect(ram).toHaveLength(1);
    expect(guardProblem(ram[0])).toBeUndefined();

    await calls.destroy(domain.id);
    expect(reports(reportDir)).toEqual([]);
  }, FUZZ_TIMEOUT_MS);

  it('PCI configuration fuzz guest through CF8/CFC and ECAM: powers off normally, reports nothing', async () => {
    const spec = guestSpec(guests.pvh, `action=pci-fuzz:20000 ecam=0x${PCI_ECAM_START.toString(16)}`, { devices: [disk(createKnownDisk(8)), rng()] });
    const { console } = await calls.boot(spec);
    const ended = await console.ended;
    expect(ended.closed?.state, console.output).toBe(DomainState.DOMAIN_STATE_SHUTOFF);
    expect(console.output).toContain('hv-guest: pci-fuzz done writes=20000');
    expect(console.output).toContain('hv-guest: pci 00:00.0 vendor=8086 device=0d57 class=060000');
    expect(reports(reportDir)).toEqual([]);
  }, FUZZ_TIMEOUT_MS);
});

describe('positive controls: the scan above would see a memory error', () => {
  it('a heap overflow in the addon is reported by ASan and kills the process with SIGABRT', () => {
    const at = path.join(dir, 'control-heap');
    const result = probe('native.testProbes.heapOverflowRead();', logTo(at));
    expect(result.signal).toBe('SIGABRT');
    const found = reports(at);
    expect(found).toHaveLength(1);
    expect(found[0].text).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(found[0].text).toMatch(/HeapOverflowRead .*test-probes\.cc/);
  });

  it('a native read one byte past guest RAM dies with SIGSEGV in the guard region; the last byte of RAM reads fine', () => {
    const bytes = 4 << 20;
    const open = probe(`const m = new native.GuestMemory(${bytes}); console.log(native.testProbes.readGuestByte(m, ${bytes - 1}));`, logTo(path.join(dir, 'control-ok')));
    expect(open.status, open.stderr).toBe(0);
    expect(open.stdout.trim()).toBe('0');
    // handle_segv=0: the kernel's signal itself, not ASan's report of it.
    const past = probe(`const m = new native.GuestMemory(${bytes}); native.testProbes.readGuestByte(m, ${bytes});`, logTo(path.join(dir, 'control-segv'), ':handle_segv=0'));
    expect(past.signal).toBe('SIGSEGV');
  });

  it('a native read one byte before guest RAM is caught by ASan as a SEGV in the guard region', () => {
    const at = path.join(dir, 'control-before');
    const result = probe('native.testProbes.readGuestByte(new native.GuestMemory(4096), -1);', logTo(at));
    expect(result.signal).toBe('SIGABRT');
    const found = reports(at);
    expect(found).toHaveLength(1);
    expect(found[0].text).toMatch(/ERROR: AddressSanitizer: SEGV on unknown address/);
    expect(found[0].text).toMatch(/ReadGuestByte/);
  });
});
