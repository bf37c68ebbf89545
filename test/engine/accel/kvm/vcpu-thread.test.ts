/**
 * The per-vCPU native thread and its hand-off to the loop thread (DESIGN.md), driven here by the emulated CPU on
 * that thread instead of KVM_RUN: posted writes arrive in the order the guest issued them, each read waits for
 * its answer and the guest computes with it, a full ring holds the vCPU back without losing an exit, halt() stops
 * a running guest with every read answered, and stop() ends a guest that spins or waits for an answer that never comes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { VcpuExit } from '../../../../engine/src/accel/exit';
import {
  RECORD_WORDS,
  RING_RECORDS,
  THREAD_EXIT_ERROR,
  THREAD_EXIT_HLT,
  THREAD_EXIT_SHUTDOWN,
  THREAD_EXIT_STOPPED,
  THREAD_EXIT_SYSTEM_EVENT,
  VcpuThreadExits,
} from '../../../../engine/src/accel/kvm/vcpu-thread-exits';
import { decodeCpuidEntries, encodeCpuidEntries, filterCpuid } from '../../../../engine/src/accel/kvm/cpuid-filter';
import { KVM_REGS_SIZE, KVM_SREGS_SIZE } from '../../../../engine/src/accel/kvm/kvm-abi';
import { encodeKvmRegs, encodeKvmSregs } from '../../../../engine/src/accel/kvm/kvm-registers';
import { pvhEntryState } from '../../../../engine/src/boot/cpu-state';
import { createGuestMemory, native } from '../../../../engine/src/native';
import type { NativeVcpuThread } from '../../../../engine/src/native/addon';
import { kvmUnavailableReason } from './kvm-available';

const kvmSkipReason = kvmUnavailableReason();
if (kvmSkipReason) console.log(`KVM vCPU thread test skipped: ${kvmSkipReason}`);

/** Guest code address and stack top. */
const CODE = 0x1000;
const STACK = 0x8000;
/** The MMIO window (below 2 GiB: 64-bit absolute moffs are sign-extended 32-bit). */
const MMIO = 0x4000_0000;

/**
 * 64-bit code (GNU as): for ecx = N down to 1: out ecx → 0x80 (posted); in 0x81 → al (waits);
 * ebx += al; mov ebx → [MMIO] (posted). Then mov [MMIO + 8] → eax (waits); out eax → 0x82; hlt.
 */
function loopGuest(iterations: number): Uint8Array {
  const code = Uint8Array.from([
    0xb9, 0, 0, 0, 0, // mov $N, %ecx
    0x89, 0xc8, // 1: mov %ecx, %eax
    0xe6, 0x80, // out %al, $0x80
    0xe4, 0x81, // in $0x81, %al
    0x0f, 0xb6, 0xc0, // movzbl %al, %eax
    0x01, 0xc3, // add %eax, %ebx
    0x89, 0x1c, 0x25, 0x00, 0x00, 0x00, 0x40, // mov %ebx, 0x40000000
    0xff, 0xc9, // dec %ecx
    0x75, 0xea, // jnz 1b
    0x8b, 0x04, 0x25, 0x08, 0x00, 0x00, 0x40, // mov 0x40000008, %eax
    0xe7, 0x82, // out %eax, $0x82
    0xf4, // hlt
  ]);
  new DataView(code.buffer).setUint32(1, iterations, true);
  return code;
}

const threads: NativeVcpuThread[] = [];
afterEach(() => {
  for (const t of threads.splice(0)) t.stop();
});

function startGuest(code: Uint8Array): NativeVcpuThread {
  const memory = createGuestMemory(64 * 1024);
  new Uint8Array(memory.buffer).set(code, CODE);
  const thread = new native.VcpuThread({ memory, mmioGpa: MMIO, mmioSize: 0x1000, rip: CODE, rsp: STACK });
  threads.push(thread);
  thread.start();
  return thread;
}

describe('VcpuThread record layout', () => {
  it('matches the native ExitRecord and final kinds', () => {
    const c = native.vcpuThreadConstants;
    expect([c.kRecordWords, c.kRingRecords]).toEqual([RECORD_WORDS, RING_RECORDS]);
    expect([c.kThreadExitHlt, c.kThreadExitStopped, c.kThreadExitError, c.kThreadExitShutdown, c.kThreadExitSystemEvent]).toEqual([
      THREAD_EXIT_HLT, THREAD_EXIT_STOPPED, THREAD_EXIT_ERROR, THREAD_EXIT_SHUTDOWN, THREAD_EXIT_SYSTEM_EVENT,
    ]);
  });
});

describe('a vCPU on its own thread', () => {
  it('posts writes in guest order, waits for each read, and the guest computes with the answers', () => {
    const iterations = 5_000;
    const thread = startGuest(loopGuest(iterations));
    const outs: number[] = [];
    const mmioWrites: number[] = [];
    let answers = 0;
    let expectedSum = 0;
    let final: number | undefined;
    const handleExit = (exit: VcpuExit): void => {
      switch (exit.kind) {
        case 'io-out':
          if (exit.port === 0x80) outs.push(exit.data);
          if (exit.port === 0x82) final = exit.data;
          return;
        case 'io-in': {
          // Answer with the last value written to port 0x80, plus 1: the guest's sum proves it got each answer.
          const answer = ((outs[outs.length - 1] ?? 0) + 1) & 0xff;
          expectedSum = (expectedSum + answer) >>> 0;
          answers++;
          exit.data = answer;
          return;
        }
        case 'mmio-write':
          mmioWrites.push(exit.data);
          expect(exit.data).toBe(expectedSum); // the store after a read always carries the sum so far
          return;
        case 'mmio-read':
          expect(exit.address).toBe(MMIO + 8);
          expect(exit.size).toBe(4);
          exit.data = 0x1234_5678;
          return;
        default:
          return;
      }
    };
    const exits = new VcpuThreadExits(thread, handleExit);
    const started = performance.now();
    let outcome = exits.drainSlice(1000);
    let slices = 1;
    while (outcome === 'slice-end') {
      outcome = exits.drainSlice(1000);
      slices++;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`vCPU thread: ${exits.exits} exits (${iterations} posted OUT, ${iterations} waited IN, ${iterations} posted MMIO) in ${(seconds * 1000).toFixed(1)} ms over ${slices} slices: ${(exits.exits / seconds / 1e6).toFixed(2)} M exits/s`);
    expect(outcome).toBe('hlt');
    expect(outs).toHaveLength(iterations);
    expect(outs.slice(0, 3)).toEqual([iterations & 0xff, (iterations - 1) & 0xff, (iterations - 2) & 0xff]);
    expect(outs.every((v, i) => v === ((iterations - i) & 0xff))).toBe(true);
    expect(answers).toBe(iterations);
    expect(mmioWrites).toHaveLength(iterations);
    expect(final).toBe(0x1234_5678);
  });

  it('holds the vCPU back when the ring is full and loses no posted write', async () => {
    // for ecx = 3000 down to 1: out ecx → 0x80; then hlt. Only posted writes: nothing makes the vCPU wait but a full ring.
    const code = Uint8Array.from([0xb9, 0xb8, 0x0b, 0x00, 0x00, 0x89, 0xc8, 0xe6, 0x80, 0xff, 0xc9, 0x75, 0xf8, 0xf4]);
    const thread = startGuest(code);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the loop thread takes nothing meanwhile
    const records = new Uint32Array(RING_RECORDS * RECORD_WORDS);
    expect(thread.take(records, 0)).toBe(RING_RECORDS); // a full ring: the vCPU is waiting for room
    const outs = Array.from({ length: RING_RECORDS }, (_, i) => records[i * RECORD_WORDS + 4]);
    const exits = new VcpuThreadExits(thread, (exit) => {
      if (exit.kind === 'io-out') outs.push(exit.data);
    });
    let outcome = exits.drainSlice(1000);
    while (outcome === 'slice-end') outcome = exits.drainSlice(1000);
    expect(outcome).toBe('hlt');
    expect(outs).toHaveLength(3000);
    expect(outs.every((v, i) => v === ((3000 - i) & 0xff))).toBe(true);
  });

  it('stops a guest that spins without exits, and one waiting for a read nobody answers', () => {
    const spinning = startGuest(Uint8Array.from([0xeb, 0xfe])); // jmp $
    const exits = new VcpuThreadExits(spinning, () => {});
    expect(exits.drainSlice(2000)).toBe('slice-end');
    spinning.stop();
    expect(exits.drainSlice(1000)).toBe('stop-requested');
    spinning.stop();

    const waiting = startGuest(Uint8Array.from([0xe4, 0x81, 0xf4])); // in $0x81, %al; hlt
    const records = new Uint32Array(RING_RECORDS * RECORD_WORDS);
    expect(waiting.take(records, 1_000_000)).toBe(1); // the IN, then the vCPU waits
    waiting.stop(); // cancels the wait and joins the thread
  });

  it('halt() stops a running guest at its next exit, answering every read first (nothing lost, nothing cancelled)', () => {
    const thread = startGuest(loopGuest(1_000_000));
    let reads = 0;
    let sum = 0;
    const stores: number[] = [];
    const exits = new VcpuThreadExits(thread, (exit) => {
      if (exit.kind === 'io-in') {
        reads++;
        exit.data = 1;
        sum++;
      } else if (exit.kind === 'mmio-write') stores.push(exit.data);
    });
    expect(exits.drainSlice(2000)).toBe('slice-end');
    exits.halt();
    expect(exits.ended).toBe(true);
    expect(reads).toBeGreaterThan(0);
    // Every store carries the sum of the answers before it: no read got the all-ones a cancelled wait returns.
    expect(stores.at(-1)).toBe(sum - (stores.length < reads ? 1 : 0));
    expect(stores.every((v, i) => v === i + 1)).toBe(true);
    expect(exits.drainSlice(1000)).toBe('stop-requested');
    exits.halt(); // twice is fine
  });

  it('endSlice() from a handler ends the slice after its batch while the vCPU runs on', () => {
    const thread = startGuest(loopGuest(1_000_000));
    let outs = 0;
    const exits = new VcpuThreadExits(thread, (exit) => {
      if (exit.kind === 'io-out' && ++outs === 10) exits.endSlice();
      if (exit.kind === 'io-in') exit.data = 0;
    });
    expect(exits.drainSlice(1_000_000)).toBe('stop-requested');
    expect(exits.ended).toBe(false);
    const before = outs;
    expect(exits.drainSlice(2000)).toBe('slice-end');
    expect(outs).toBeGreaterThan(before);
    exits.halt();
  });

  it('reports a CPU exception on the thread as a shutdown (triple fault)', () => {
    const faulting = startGuest(Uint8Array.from([0x31, 0xc9, 0xf7, 0xf1])); // xor %ecx, %ecx; div %ecx
    const seen: string[] = [];
    const exits = new VcpuThreadExits(faulting, (exit) => seen.push(exit.kind));
    let outcome = exits.drainSlice(1000);
    while (outcome === 'slice-end') outcome = exits.drainSlice(1000);
    expect(outcome).toBe('exception');
    expect(seen).toEqual(['shutdown']);
  });

  it('accepts only a VcpuFd or emulated options', () => {
    expect(() => new native.VcpuThread({} as never)).toThrow(/expected a VcpuFd/);
    expect(() => new native.VcpuThread({ memory: {} } as never)).toThrow(/GuestMemory/);
    const memory = createGuestMemory(4096);
    expect(() => new native.VcpuThread({ memory, mmioGpa: -1, mmioSize: 4096, rip: 0, rsp: 0 })).toThrow(/mmioGpa/);
  });
});

describe.skipIf(kvmSkipReason !== undefined)('a KVM vCPU on its own thread', () => {
  it('runs KVM_RUN on the thread: posted OUT, waited IN, posted MMIO store, then HLT', () => {
    const kvm = new native.Kvm();
    const vm = new native.VmFd(kvm);
    vm.setTssAddr(0xfffb_d000);
    vm.setIdentityMapAddr(0xfffb_c000);
    const memory = createGuestMemory(2 * 1024 * 1024);
    // 32-bit code at 1 MiB: mov dx, 0x3f8; mov al, 'h'; out dx, al; in al, dx; mov [0xc0000000], al; hlt
    new Uint8Array(memory.buffer).set([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x68, 0xee, 0xec, 0xa2, 0x00, 0x00, 0x00, 0xc0, 0xf4], 0x10_0000);
    vm.setUserMemoryRegion(0, 0, 0, memory);
    const vcpu = new native.VcpuFd(vm, 0);
    vcpu.setCpuid2(encodeCpuidEntries(filterCpuid(decodeCpuidEntries(kvm.supportedCpuid()), { vcpuId: 0, vcpuCount: 1 })));
    const state = pvhEntryState(0x10_0000, 0);
    const sregs = new Uint8Array(KVM_SREGS_SIZE);
    vcpu.getSregs(sregs);
    encodeKvmSregs(sregs, state.sregs);
    vcpu.setSregs(sregs);
    const regs = new Uint8Array(KVM_REGS_SIZE);
    encodeKvmRegs(regs, state.regs);
    vcpu.setRegs(regs);
    const thread = new native.VcpuThread(vcpu);
    threads.push(thread);
    thread.start();
    const seen: string[] = [];
    const exits = new VcpuThreadExits(thread, (exit) => {
      if (exit.kind === 'io-out') seen.push(`out ${exit.port.toString(16)} ${exit.data.toString(16)}`);
      else if (exit.kind === 'io-in') {
        seen.push(`in ${exit.port.toString(16)}`);
        exit.data = 0x5a;
      } else if (exit.kind === 'mmio-write') seen.push(`write ${exit.address.toString(16)} ${exit.data.toString(16)}`);
      else seen.push(exit.kind);
    });
    let outcome = exits.drainSlice(1000);
    for (let i = 0; i < 1000 && outcome === 'slice-end'; i++) outcome = exits.drainSlice(1000);
    expect(outcome).toBe('hlt');
    expect(seen).toEqual(['out 3f8 68', 'in 3f8', 'write c0000000 5a', 'hlt']);
    thread.stop();
    for (const o of [vcpu, vm, kvm]) o.close();
  });
});
