/**
 * kvm_run decoding on hand-built kvm_run images laid out as the kernel writes them (offsets from kvm-abi.ts,
 * checked against the compiler's by kvm-layout.test.ts): every exit reaches the one exit switch as the VcpuExit
 * the emulated accelerator would produce, and answers to reads land where KVM picks them up.
 */
import { describe, expect, it } from 'vitest';
import { createReusableExit, type VcpuExit } from '../../../../engine/src/accel/exit';
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_RUN,
  KVM_SYSTEM_EVENT_CRASH,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
} from '../../../../engine/src/accel/kvm/kvm-abi';
import { dispatchKvmExit, setImmediateExit } from '../../../../engine/src/accel/kvm/kvm-exit-decoder';

/** A real mapping is KVM_GET_VCPU_MMAP_SIZE bytes: kvm_run, then the PIO data page, then the coalesced MMIO ring. */
const MAPPING_SIZE = 3 * 4096;
/** Where KVM puts PIO data (the second page). */
const PIO_PAGE = 4096;

function runImage(reason: number): { run: Uint8Array; v: DataView } {
  const run = new Uint8Array(MAPPING_SIZE);
  const v = new DataView(run.buffer);
  v.setUint32(KVM_RUN.exitReason, reason, true);
  return { run, v };
}

function io(direction: number, size: number, port: number, count: number, dataOffset = PIO_PAGE) {
  const image = runImage(KVM_EXIT_IO);
  image.v.setUint8(KVM_RUN.ioDirection, direction);
  image.v.setUint8(KVM_RUN.ioSize, size);
  image.v.setUint16(KVM_RUN.ioPort, port, true);
  image.v.setUint32(KVM_RUN.ioCount, count, true);
  image.v.setBigUint64(KVM_RUN.ioDataOffset, BigInt(dataOffset), true);
  return image;
}

function mmio(address: bigint, len: number, isWrite: boolean, data: number[] = []) {
  const image = runImage(KVM_EXIT_MMIO);
  image.v.setBigUint64(KVM_RUN.mmioPhysAddr, address, true);
  image.v.setUint32(KVM_RUN.mmioLen, len, true);
  image.v.setUint8(KVM_RUN.mmioIsWrite, isWrite ? 1 : 0);
  image.run.set(data, KVM_RUN.mmioData);
  return image;
}

/** Runs the decoder with a handler that records copies of what it saw and answers reads with `answer`. */
function dispatch(run: Uint8Array, answer?: (exit: VcpuExit) => void) {
  const seen: Record<string, unknown>[] = [];
  const outcome = dispatchKvmExit(run, createReusableExit(), (exit) => {
    answer?.(exit);
    const { kind } = exit;
    if (kind === 'io-in' || kind === 'io-out') seen.push({ kind, port: exit.port, size: exit.size, data: exit.data });
    else if (kind === 'mmio-read' || kind === 'mmio-write') seen.push({ kind, address: exit.address, size: exit.size, data: exit.data, dataHigh: exit.dataHigh });
    else if (kind === 'internal-error') seen.push({ kind, code: exit.code, message: exit.message });
    else seen.push({ kind });
  });
  return { outcome, seen };
}

describe('dispatchKvmExit: port I/O', () => {
  it('hands an OUT to the exit switch with its port, size and data', () => {
    const { run } = io(KVM_EXIT_IO_OUT, 1, 0x3f8, 1);
    run[PIO_PAGE] = 0x41;
    expect(dispatch(run)).toEqual({ outcome: null, seen: [{ kind: 'io-out', port: 0x3f8, size: 1, data: 0x41 }] });
  });

  it('splits rep outsw into one exit per item', () => {
    const { run, v } = io(KVM_EXIT_IO_OUT, 2, 0x510, 3);
    [0x1111, 0x2222, 0xffff].forEach((w, i) => v.setUint16(PIO_PAGE + 2 * i, w, true));
    expect(dispatch(run).seen.map((s) => s.data)).toEqual([0x1111, 0x2222, 0xffff]);
  });

  it('writes the answer to an IN back at data_offset, truncated to the access size', () => {
    const { run, v } = io(KVM_EXIT_IO_IN, 2, 0x64, 1);
    const { outcome, seen } = dispatch(run, (exit) => {
      if (exit.kind === 'io-in') exit.data = 0xabcd_1234;
    });
    expect(outcome).toBeNull();
    expect(seen).toEqual([{ kind: 'io-in', port: 0x64, size: 2, data: 0xabcd_1234 }]);
    expect(v.getUint16(PIO_PAGE, true)).toBe(0x1234);
    expect(run[PIO_PAGE + 2]).toBe(0); // nothing past the access
  });

  it('answers an IN nobody answered with all ones, and fills every item of rep insd', () => {
    const { run, v } = io(KVM_EXIT_IO_IN, 4, 0xcfc, 2);
    dispatch(run);
    expect([v.getUint32(PIO_PAGE, true), v.getUint32(PIO_PAGE + 4, true)]).toEqual([0xffff_ffff, 0xffff_ffff]);
  });

  it('refuses data outside the mapping or inside kvm_run itself without touching memory', () => {
    for (const image of [io(KVM_EXIT_IO_OUT, 4, 0x80, 2, MAPPING_SIZE - 4), io(KVM_EXIT_IO_IN, 1, 0x80, 1, 8), io(KVM_EXIT_IO_IN, 1, 0x80, 0xffff_ffff)]) {
      const before = image.run.slice();
      const { outcome, seen } = dispatch(image.run);
      expect(outcome).toBe('internal-error');
      expect(seen).toEqual([{ kind: 'internal-error', code: KVM_EXIT_IO, message: expect.stringContaining('outside') }]);
      expect(image.run).toEqual(before);
    }
    expect(dispatch(io(KVM_EXIT_IO_OUT, 3, 0x80, 1).run).outcome).toBe('internal-error');
  });
});

describe('dispatchKvmExit: MMIO', () => {
  it('hands a 4-byte store over with its guest-physical address', () => {
    const { run } = mmio(0xfed0_0010n, 4, true, [0x78, 0x56, 0x34, 0x12]);
    expect(dispatch(run).seen).toEqual([{ kind: 'mmio-write', address: 0xfed0_0010, size: 4, data: 0x1234_5678, dataHigh: 0 }]);
  });

  it('splits an 8-byte store above 4 GiB into data and dataHigh', () => {
    const { run } = mmio(0x1_0000_2000n, 8, true, [1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]);
    expect(dispatch(run).seen).toEqual([{ kind: 'mmio-write', address: 0x1_0000_2000, size: 8, data: 1, dataHigh: 0xdead_beef }]);
  });

  it('puts the answer to an 8-byte load in mmio.data, little endian', () => {
    const { run, v } = mmio(0xc000_0000n, 8, false);
    dispatch(run, (exit) => {
      if (exit.kind === 'mmio-read') {
        exit.data = 0x0403_0201;
        exit.dataHigh = 0x0807_0605;
      }
    });
    expect(v.getBigUint64(KVM_RUN.mmioData, true)).toBe(0x0807_0605_0403_0201n);
  });

  it('answers an unanswered 1-byte load with 0xff and leaves the rest of mmio.data', () => {
    const { run } = mmio(0xc000_0000n, 1, false, [0, 0x55]);
    dispatch(run);
    expect([run[KVM_RUN.mmioData], run[KVM_RUN.mmioData + 1]]).toEqual([0xff, 0x55]);
  });

  it('refuses impossible lengths and addresses', () => {
    expect(dispatch(mmio(0x1000n, 0, true).run).outcome).toBe('internal-error');
    expect(dispatch(mmio(0x1000n, 16, false).run).outcome).toBe('internal-error');
    expect(dispatch(mmio(1n << 60n, 4, false).run).outcome).toBe('internal-error');
  });
});

describe('dispatchKvmExit: other exits', () => {
  it('maps HLT and SHUTDOWN (triple fault) to their exits and ends the slice', () => {
    expect(dispatch(runImage(KVM_EXIT_HLT).run)).toEqual({ outcome: 'hlt', seen: [{ kind: 'hlt' }] });
    expect(dispatch(runImage(KVM_EXIT_SHUTDOWN).run)).toEqual({ outcome: 'exception', seen: [{ kind: 'shutdown' }] });
  });

  it('ends the slice on KVM_EXIT_INTR without an exit to handle', () => {
    expect(dispatch(runImage(KVM_EXIT_INTR).run)).toEqual({ outcome: 'slice-end', seen: [] });
  });

  it('names the hardware reason of a failed entry and the data of an internal error', () => {
    const fail = runImage(KVM_EXIT_FAIL_ENTRY);
    fail.v.setBigUint64(KVM_RUN.failEntryReason, 0x80000021n, true);
    fail.v.setUint32(KVM_RUN.failEntryCpu, 3, true);
    expect(dispatch(fail.run).seen).toEqual([{ kind: 'internal-error', code: KVM_EXIT_FAIL_ENTRY, message: expect.stringMatching(/0x80000021.*CPU 3/) }]);
    const internal = runImage(KVM_EXIT_INTERNAL_ERROR);
    internal.v.setUint32(KVM_RUN.internalSuberror, 1, true);
    internal.v.setUint32(KVM_RUN.internalNdata, 1000, true); // more than the 16 words there are: capped
    internal.v.setBigUint64(KVM_RUN.internalData, 0xfen, true);
    const { outcome, seen } = dispatch(internal.run);
    expect(outcome).toBe('internal-error');
    expect(seen[0].message).toMatch(/suberror 1 data 0xfe( 0x0){15}$/);
  });

  it('hands shutdown, reset and crash system events to the exit switch and ends the slice', () => {
    const events = [KVM_SYSTEM_EVENT_SHUTDOWN, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_CRASH].map((type) => {
      const image = runImage(KVM_EXIT_SYSTEM_EVENT);
      image.v.setUint32(KVM_RUN.systemEventType, type, true);
      let event: unknown;
      const { outcome } = dispatch(image.run, (exit) => {
        if (exit.kind === 'system-event') event = exit.event;
      });
      return { outcome, event };
    });
    expect(events).toEqual([
      { outcome: 'stop-requested', event: 'shutdown' },
      { outcome: 'stop-requested', event: 'reset' },
      { outcome: 'stop-requested', event: 'crash' },
    ]);
  });

  it('reports unknown system events and unknown reasons as internal errors', () => {
    const odd = runImage(KVM_EXIT_SYSTEM_EVENT);
    odd.v.setUint32(KVM_RUN.systemEventType, 77, true);
    expect(dispatch(odd.run).seen).toEqual([{ kind: 'internal-error', code: KVM_EXIT_SYSTEM_EVENT, message: 'KVM_EXIT_SYSTEM_EVENT of unknown type 77' }]);
    expect(dispatch(runImage(999).run).seen).toEqual([{ kind: 'internal-error', code: 999, message: 'unexpected KVM exit reason 999' }]);
  });

  it('refuses a mapping smaller than kvm_run', () => {
    expect(() => dispatch(new Uint8Array(100))).toThrow(RangeError);
  });

  it('sets and clears immediate_exit at its kvm_run offset', () => {
    const { run } = runImage(0);
    setImmediateExit(run, true);
    expect(run[1]).toBe(1);
    setImmediateExit(run, false);
    expect(run[1]).toBe(0);
  });
});
