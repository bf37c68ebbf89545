/**
 * The test guest under Debian's QEMU (TCG), the reference peer: proves the guest itself (PVH entry, UART driver,
 * start_info parsing, actions) independently of hv's engine. Skipped with a printed reason without QEMU.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNetns, netnsUnavailable, UdpPeer, type TestNetns } from '../support/netns';
import { QemuSocketPeer } from './qemu-socket-peer';
import { createKnownDisk, expectedSectorLines, knownSector, SECTOR_SIZE, writePattern } from './virtio-disk-image';
import { expectExchange, GUEST_IP, HOST_IP, NET_PORT, netCmdline, talkToGuest } from './virtio-net-exchange';

const QEMU_BINARY = 'qemu-system-x86_64';
/** Guest RAM given to QEMU, in MiB. */
const GUEST_MIB = 128;
/** Upper bound for one QEMU run; TCG boots the guest in well under a second. */
const RUN_TIMEOUT_MS = 30_000;
/** isa-debug-exit status for a guest write of v. */
const debugExitStatus = (value: number): number => (value << 1) | 1;

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const qemu = findOnPath(QEMU_BINARY);
if (qemu === undefined) {
  console.warn(`guest-under-qemu: skipped, ${QEMU_BINARY} not found on PATH (apt-get install qemu-system-x86)`);
}

type Machine = 'microvm' | 'pc' | 'q35';

interface QemuRun {
  /** QEMU's exit status (null when killed). */
  status: number | null;
  /** QEMU was still running when stopWhen's grace period ended (or the guest had to be killed). */
  killed: boolean;
  /** Everything the guest wrote to COM1. */
  output: string;
  /** QEMU's own diagnostics. */
  stderr: string;
  /** output split into lines, empty ones dropped. */
  lines: string[];
}

/** A conversation step: once `waitFor` appears in the output, `send` is written to the guest's serial input. */
interface Step {
  waitFor: string;
  send: string;
}

interface RunOptions {
  /** Serial input to type as output appears. */
  steps?: Step[];
  /** For guests that never exit: once this appears, watch for STOP_GRACE_MS more, then kill QEMU. */
  stopWhen?: string;
  /** More QEMU arguments (devices). */
  extraArgs?: string[];
  /** Called with the whole serial output each time more arrives (to drive a monitor or a port). */
  onOutput?: (output: string) => void;
  /** Runs QEMU inside this network namespace (for -netdev tap). */
  netns?: TestNetns;
}

/** How long a never-exiting guest is watched after stopWhen appears (it must stay quiet and alive). */
const STOP_GRACE_MS = 500;
/** How often the serial output file is read for new bytes. */
const OUTPUT_POLL_MS = 10;

function runGuest(machine: Machine, cmdline: string, options: RunOptions = {}): Promise<QemuRun> {
  const steps = options.steps ?? [];
  const { pvh } = inject('guests');
  const args = [
    '-M', machine, '-accel', 'tcg', '-m', `${GUEST_MIB}M`,
    '-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-kernel', pvh, '-append', cmdline,
    ...(options.extraArgs ?? []),
  ];
  // The guest's serial output goes to a regular file, never a pipe: QEMU drops a UART byte after a few failed writes,
  // which a socket full of one-byte writes gives it on a loaded machine.
  const dir = mkdtempSync(join(tmpdir(), 'hv-qemu-'));
  const outputFile = join(dir, 'serial.out');
  const outputFd = openSync(outputFile, 'w+');
  return new Promise((resolve, reject) => {
    const [command, argv] = options.netns ? options.netns.exec(qemu as string, args) : [qemu as string, args];
    const child = spawn(command, argv, { stdio: ['pipe', outputFd, 'pipe'] });
    const input = child.stdin!;
    const diagnostics = child.stderr!;
    let output = '';
    let stderr = '';
    const pending = [...steps];
    let stopping = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`QEMU (${machine}, ${cmdline}) did not exit within ${RUN_TIMEOUT_MS} ms; output:\n${output}`));
    }, RUN_TIMEOUT_MS);
    const chunk = Buffer.alloc(64 * 1024);
    let bytes = Buffer.alloc(0);
    const readMore = (): void => {
      for (let n; (n = readSync(outputFd, chunk, 0, chunk.length, bytes.length)) > 0; ) bytes = Buffer.concat([bytes, chunk.subarray(0, n)]);
      const text = bytes.toString('utf8');
      if (text === output) return;
      output = text;
      options.onOutput?.(output);
      while (pending.length > 0 && output.includes(pending[0].waitFor)) {
        input.write(pending.shift()!.send);
      }
      if (options.stopWhen !== undefined && output.includes(options.stopWhen) && !stopping) {
        stopping = true;
        setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      }
    };
    const poll = setInterval(readMore, OUTPUT_POLL_MS);
    diagnostics.setEncoding('utf8');
    diagnostics.on('data', (chunk: string) => (stderr += chunk));
    const cleanUp = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
      closeSync(outputFd);
      rmSync(dir, { recursive: true, force: true });
    };
    child.on('error', (error) => {
      cleanUp();
      reject(error);
    });
    child.on('close', (status, signal) => {
      readMore();
      cleanUp();
      resolve({ status, killed: signal === 'SIGKILL', output, stderr, lines: output.split('\n').filter((line) => line !== '') });
    });
    if (steps.length === 0) input.end();
  });
}

/** The lines every boot prints before its action, checked against what QEMU's PVH boot hands over. */
function expectBootReport(run: QemuRun, cmdline: string): void {
  expect(run.lines[0], `guest output:\n${run.output}\nQEMU stderr:\n${run.stderr}`).toBe('hv-guest: ready');
  expect(run.lines[1]).toMatch(/^hv-guest: start_info=0x[0-9a-f]+ version=1 modules=0$/);
  expect(run.lines).toContain(`hv-guest: cmdline=${cmdline}`);
  const summary = run.lines.find((line) => line.startsWith('hv-guest: memmap entries='));
  const match = /^hv-guest: memmap entries=(\d+) ram=(\d+)$/.exec(summary ?? '');
  expect(match, `memmap summary in:\n${run.output}`).not.toBeNull();
  const entries = Number(match![1]);
  const ram = Number(match![2]);
  expect(
    run.lines.filter((line) => /^hv-guest: memmap addr=0x[0-9a-f]+ size=0x[0-9a-f]+ type=\d+$/.test(line)),
    `guest output:\n${run.output}\nQEMU stderr:\n${run.stderr}`,
  ).toHaveLength(entries);
  // The firmware keeps a little RAM for itself (EBDA, ACPI, BIOS): at least 7/8 of -m, never more.
  expect(ram).toBeLessThanOrEqual(GUEST_MIB * 1024 * 1024);
  expect(ram).toBeGreaterThan((GUEST_MIB * 1024 * 1024 * 7) / 8);
}

describe.skipIf(qemu === undefined)('test guest under QEMU TCG', () => {
  describe.each<Machine>(['microvm', 'pc'])('-M %s', (machine) => {
    it('exit:N leaves through isa-debug-exit with status (N << 1) | 1', async () => {
      const run = await runGuest(machine, 'action=exit:3');
      expectBootReport(run, 'action=exit:3');
      expect(run.lines.slice(-2)).toEqual(['hv-guest: action=exit:3', 'hv-guest: exiting code=3']);
      expect(run.status).toBe(debugExitStatus(3));
    });

    it('exit:N takes hex and other words on the cmdline', async () => {
      const cmdline = 'console=ttyS0 action=exit:0x2a quiet';
      const run = await runGuest(machine, cmdline);
      expect(run.lines).toContain(`hv-guest: cmdline=${cmdline}`);
      expect(run.lines).toContain('hv-guest: exiting code=42');
      expect(run.status).toBe(debugExitStatus(42));
    });

    it('echo echoes typed bytes, reports each line and powers off on "poweroff"', async () => {
      const run = await runGuest(machine, 'action=echo', {
        steps: [
          { waitFor: 'hv-guest: echo>', send: 'hello\n' },
          { waitFor: 'hv-guest: got=hello\n', send: 'poweroff\n' },
        ],
      });
      expectBootReport(run, 'action=echo');
      expect(run.lines).toContain('hv-guest: echo>hello');
      expect(run.lines).toContain('hv-guest: got=hello');
      expect(run.lines).toContain('hv-guest: echo>poweroff');
      expect(run.lines).toContain('hv-guest: got=poweroff');
      expect(run.lines).toContain('hv-guest: powering off');
      // pc has PM1a at 0x604; microvm does not, so the guest falls back to debug-exit 0.
      expect(run.status).toBe(machine === 'pc' ? 0 : debugExitStatus(0));
    });

    it('pio-loop:N prints its markers and exits with debug-exit 0', async () => {
      const run = await runGuest(machine, 'action=pio-loop:100000');
      expect(run.lines.slice(-2)).toEqual(['hv-guest: pio-loop start n=100000', 'hv-guest: pio-loop done n=100000']);
      expect(run.status).toBe(debugExitStatus(0));
    });

    it('tick:N prints numbered lines forever', async () => {
      const run = await runGuest(machine, 'action=tick:1', { stopWhen: 'hv-guest: tick 3\n' });
      const ticks = run.lines.filter((line) => line.startsWith('hv-guest: tick '));
      expect(ticks.slice(0, 3)).toEqual(['hv-guest: tick 1', 'hv-guest: tick 2', 'hv-guest: tick 3']);
      expect(run.killed).toBe(true);
    });

    it('hlt halts with interrupts off and stays halted', async () => {
      const run = await runGuest(machine, 'action=hlt', { stopWhen: 'hv-guest: halting\n' });
      expect(run.lines.at(-1)).toBe('hv-guest: halting');
      expect(run.killed).toBe(true);
    });

    it('spin loops without exiting', async () => {
      const run = await runGuest(machine, 'action=spin', { stopWhen: 'hv-guest: spinning\n' });
      expect(run.lines.at(-1)).toBe('hv-guest: spinning');
      expect(run.killed).toBe(true);
    });

    it('fault raises #UD with no IDT: a triple fault, which -no-reboot turns into an exit', async () => {
      const run = await runGuest(machine, 'action=fault');
      expect(run.lines.slice(-2)).toEqual(['hv-guest: action=fault', 'hv-guest: faulting (ud2)']);
      expect(run.killed).toBe(false);
    });

    it('an unknown action is reported, then the guest powers off', async () => {
      const run = await runGuest(machine, 'action=bogus');
      expect(run.lines).toContain('hv-guest: error unknown action=bogus');
      expect(run.lines).toContain('hv-guest: powering off');
    });
  });

  it('poweroff on -M pc: ACPI S5 through PM1a control at 0x604 ends QEMU with status 0', async () => {
    const run = await runGuest('pc', 'action=poweroff');
    expectBootReport(run, 'action=poweroff');
    // QEMU acts on the request asynchronously: on a loaded host the guest may print a little more first.
    const at = run.lines.indexOf('hv-guest: powering off');
    expect(run.lines.slice(at - 1, at + 1)).toEqual(['hv-guest: action=poweroff', 'hv-guest: powering off']);
    expect(run.lines).not.toContain('hv-guest: debug-exit ignored');
    expect(run.status).toBe(0);
  });

  it('poweroff on -M microvm: no PM1a block at 0x604, so the guest falls back to debug-exit 0', async () => {
    const run = await runGuest('microvm', 'action=poweroff');
    expect(run.lines.slice(-2)).toEqual(['hv-guest: powering off', 'hv-guest: acpi poweroff ignored']);
    expect(run.status).toBe(debugExitStatus(0));
  });
});

describe.skipIf(qemu === undefined)('the test guest\'s PCI and virtio drivers under QEMU (honest drivers)', () => {
  const rng = ['-device', 'virtio-rng-pci,disable-legacy=on'];
  const blk = (file: string, serial: string, readOnly = false) => [
    '-drive', `file=${file},if=none,id=d0,format=raw${readOnly ? ',readonly=on' : ''}`,
    '-device', `virtio-blk-pci,drive=d0,disable-legacy=on,serial=${serial}`,
  ];

  it.each<Machine>(['pc', 'q35'])('pci lists every function on bus 0 with its IDs and class (-M %s)', async (machine) => {
    const run = await runGuest(machine, 'action=pci', { extraArgs: [...rng, ...blk(createKnownDisk(8), 's1')] });
    const functions = run.lines.filter((line) => line.startsWith('hv-guest: pci 00:'));
    expect(functions[0], run.output).toMatch(/^hv-guest: pci 00:00\.0 vendor=8086 device=[0-9a-f]{4} class=060000$/);
    expect(functions.some((line) => /vendor=1af4 device=1044 class=00ff00$/.test(line))).toBe(true);
    expect(functions.some((line) => /vendor=1af4 device=1042 class=010000$/.test(line))).toBe(true);
    expect(run.lines).toContain(`hv-guest: pci functions=${functions.length}`);
  });

  it('virtio-rng:N reads N bytes that are not all equal', async () => {
    const run = await runGuest('pc', 'action=virtio-rng:32', { extraArgs: rng });
    const bytes = run.lines.find((line) => line.startsWith('hv-guest: virtio-rng bytes='));
    expect(bytes, run.output).toMatch(/^hv-guest: virtio-rng bytes=32 hex=[0-9a-f]{64}$/);
    expect(run.lines).toContain('hv-guest: virtio-rng all-equal=no');
    expect(run.lines).toContain('hv-guest: powering off');
  });

  it('virtio-blk reads capacity, serial and known sectors, and its write reaches the host file', async () => {
    const disk = createKnownDisk(64);
    const run = await runGuest('pc', 'action=virtio-blk blk-read=4 blk-write=9', { extraArgs: blk(disk, 'hv-serial-7') });
    expect(run.lines, run.output).toContain('hv-guest: virtio-blk capacity=64 ro=0 flush=1');
    expect(run.lines).toContain('hv-guest: virtio-blk serial=hv-serial-7');
    for (const line of expectedSectorLines(4)) expect(run.lines).toContain(line);
    expect(run.lines).toContain('hv-guest: virtio-blk write sector=9 status=0 flush=0 read=0 readback=match');
    const written = readFileSync(disk).subarray(9 * SECTOR_SIZE, 10 * SECTOR_SIZE);
    expect(Buffer.from(written).equals(Buffer.from(writePattern(9)))).toBe(true);
    expect(Buffer.from(readFileSync(disk).subarray(8 * SECTOR_SIZE, 9 * SECTOR_SIZE)).equals(Buffer.from(knownSector(8)))).toBe(true);
  });

  it('virtio-console: hello on port 0, each line sent to the port echoed back, "poweroff" powers off', async () => {
    const port = await QemuSocketPeer.listen('console');
    void port.waitFor('port0 hello\n').then(() => port.send('ping\n'));
    void port.waitFor('port0 got=ping\n').then(() => port.send('poweroff\r\n'));
    const run = await runGuest('pc', 'action=virtio-console', {
      extraArgs: ['-device', 'virtio-serial-pci,disable-legacy=on', '-chardev', port.chardev('c0'), '-device', 'virtconsole,chardev=c0'],
    });
    port.close();
    expect(run.lines, run.output).toContain('hv-guest: virtio-console ready');
    expect(run.lines).toContain('hv-guest: virtio-console got=ping');
    expect(run.lines).toContain('hv-guest: powering off');
    expect(port.received).toBe(['hello', 'got=ping', 'got=poweroff'].map((l) => `hv-guest: virtio-console port0 ${l}\n`).join(''));
    expect(run.status).toBe(0);
  });

  it('virtio-balloon follows the HMP balloon target up and down; QEMU sees the actual size the driver reports', async () => {
    const monitor = await QemuSocketPeer.listen('monitor');
    // -m 128, "balloon 96": QEMU wants 32 MiB back, 8192 pages.
    void monitor.send('balloon 96\n');
    let deflating = false;
    const run = await runGuest('pc', 'action=virtio-balloon', {
      extraArgs: ['-device', 'virtio-balloon-pci,disable-legacy=on,deflate-on-oom=on', '-chardev', monitor.chardev('mon'), '-mon', 'chardev=mon,mode=readline'],
      onOutput: (output) => {
        if (deflating || !output.includes('virtio-balloon inflated actual=8192\n')) return;
        deflating = true;
        void monitor.send('info balloon\n');
        void monitor.waitFor('actual=96').then(() => monitor.send('balloon 128\n'));
      },
      stopWhen: 'virtio-balloon deflated actual=0',
    });
    monitor.close();
    expect(run.lines, run.output).toContain('hv-guest: virtio-balloon features stats=1 deflate-on-oom=1');
    expect(run.lines).toContain('hv-guest: virtio-balloon target=8192');
    expect(run.lines).toContain('hv-guest: virtio-balloon inflated actual=8192');
    expect(monitor.received).toMatch(/balloon: actual=96/);
    expect(run.lines).toContain('hv-guest: virtio-balloon target=0');
    expect(run.lines).toContain('hv-guest: virtio-balloon deflated actual=0 reused=ok');
  });

  it('virtio-blk on a read-only disk: the device offers RO and fails the write with IOERR', async () => {
    const disk = createKnownDisk(16);
    const run = await runGuest('q35', 'action=virtio-blk blk-read=1 blk-write=3', { extraArgs: blk(disk, 'ro', true) });
    expect(run.lines, run.output).toContain('hv-guest: virtio-blk capacity=16 ro=1 flush=1');
    expect(run.lines).toContain(expectedSectorLines(1)[0]);
    expect(run.lines).toContain('hv-guest: virtio-blk write sector=3 status=1 flush=0 read=0 readback=differs');
    expect(Buffer.from(readFileSync(disk).subarray(3 * SECTOR_SIZE, 4 * SECTOR_SIZE)).equals(Buffer.from(knownSector(3)))).toBe(true);
  });
});

const noNetns = qemu === undefined ? undefined : netnsUnavailable();
if (noNetns !== undefined) console.warn(`guest-under-qemu: virtio-net skipped, ${noNetns}`);

describe.skipIf(qemu === undefined || noNetns !== undefined)("the test guest's virtio-net driver under QEMU (honest driver)", () => {
  const GUEST_MAC = '52:54:00:aa:bb:cc';
  let netns: TestNetns;
  let peer: UdpPeer;

  beforeAll(async () => {
    netns = createNetns();
    netns.addTap('hvtap0', `${HOST_IP}/24`);
    netns.addNeighbour(GUEST_IP, GUEST_MAC, 'hvtap0');
    peer = new UdpPeer(netns, HOST_IP, NET_PORT);
    await peer.started();
  });
  afterAll(() => {
    peer?.stop();
    netns?.remove();
  });

  it('virtio-net resolves the host by ARP, sends it UDP, and prints and echoes what the host sends back', async () => {
    const running = runGuest('pc', netCmdline(), {
      netns,
      extraArgs: ['-netdev', 'tap,id=n0,ifname=hvtap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,disable-legacy=on,mac=${GUEST_MAC}`],
    });
    await talkToGuest(peer, GUEST_MAC);
    const run = await running;
    expectExchange(run.lines, run.output, peer, GUEST_MAC);
  });
});

describe.skipIf(qemu === undefined)("the test guest's platform actions under QEMU (pvpanic, i8042, ACPI, RTC)", () => {
  it.each<Machine>(['microvm', 'pc', 'q35'])("acpi finds QEMU's RSDP through start_info and every checksum holds (-M %s)", async (machine) => {
    const run = await runGuest(machine, 'action=acpi');
    expect(run.lines.find((line) => line.startsWith('hv-guest: acpi rsdp')), run.output).toMatch(/^hv-guest: acpi rsdp addr=0x[0-9a-f]+ revision=\d+ checksum=ok$/);
    expect(run.lines.some((line) => /^hv-guest: acpi table=FACP .* checksum=ok$/.test(line)), run.output).toBe(true);
    expect(run.lines.some((line) => /^hv-guest: acpi table=DSDT .* checksum=ok$/.test(line)), run.output).toBe(true);
    expect(run.lines.some((line) => /^hv-guest: acpi done tables=[1-9]\d* bad=0$/.test(line)), run.output).toBe(true);
    // pc and q35 have the PM1a blocks where hv has them; microvm's FADT is hardware-reduced (none).
    if (machine !== 'microvm') expect(run.lines).toContain('hv-guest: acpi fadt revision=' + (machine === 'pc' ? 1 : 3) + ' pm1a_evt=0x600 pm1a_cnt=0x604 sci=9');
  });

  it.each<Machine>(['microvm', 'pc'])("rtc reads today's date from QEMU's RTC (-M %s)", async (machine) => {
    const before = Date.now();
    const run = await runGuest(machine, 'action=rtc');
    const after = Date.now();
    const match = /^hv-guest: rtc date=(\d{4})-(\d\d)-(\d\d) time=(\d\d):(\d\d):(\d\d) status_b=0x[0-9a-f]+$/m.exec(run.output);
    expect(match, run.output).not.toBeNull();
    const [, y, mo, d, h, mi, s] = match!.map(Number);
    const guest = Date.UTC(y, mo - 1, d, h, mi, s);
    expect(guest).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    expect(guest).toBeLessThanOrEqual(after + 1000);
  });

  it('panic: QEMU pvpanic reports its events and ends the VM on the panic (-M pc)', async () => {
    const run = await runGuest('pc', 'action=panic', { extraArgs: ['-device', 'pvpanic'] });
    expect(run.lines, run.output).toContain('hv-guest: pvpanic events=0x3');
    expect(run.lines.at(-1)).toBe('hv-guest: panicking (pvpanic)');
    expect(run.killed).toBe(false);
  });

  it('reboot: the i8042 reset is a reset request, which -no-reboot turns into an exit (-M pc)', async () => {
    const run = await runGuest('pc', 'action=reboot');
    expect(run.lines.at(-1), run.output).toBe('hv-guest: rebooting (i8042 reset)');
    expect(run.killed).toBe(false);
    expect(run.status).toBe(0);
  });
});
