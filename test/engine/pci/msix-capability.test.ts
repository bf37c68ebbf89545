import { describe, expect, it } from 'vitest';
import {
  MSIX_CONTROL_ENABLE,
  MSIX_CONTROL_FUNCTION_MASK,
  MSIX_MESSAGE_CONTROL,
  MsixCapability,
  PciConfigSpace,
  type MsiSink,
} from '../../../engine/src/pci';

class RecordingSink implements MsiSink {
  readonly messages: string[] = [];
  deliver(addressLow: number, addressHigh: number, data: number): void {
    this.messages.push(`${addressHigh.toString(16)}:${addressLow.toString(16)}=${data.toString(16)}`);
  }
}

function setUp() {
  const config = new PciConfigSpace({ vendorId: 1, deviceId: 2, revision: 0, classCode: 0 });
  config.defineBar({ index: 0, kind: 'mem32', size: 0x2000 });
  const sink = new RecordingSink();
  const msix = new MsixCapability(config, { vectors: 3, bar: 0, tableOffset: 0, pbaOffset: 0x1000, sink });
  const control = msix.capOffset + MSIX_MESSAGE_CONTROL;
  const setControl = (bits: number) => {
    config.write(control, 2, bits);
    msix.configWritten(control, 2);
  };
  const program = (vector: number, address: number, data: number, masked: boolean) => {
    msix.table.write(vector * 16, 4, address);
    msix.table.write(vector * 16 + 4, 4, 0);
    msix.table.write(vector * 16 + 8, 4, data);
    msix.table.write(vector * 16 + 12, 4, masked ? 1 : 0);
  };
  return { config, sink, msix, control, setControl, program };
}

describe('MSI-X', () => {
  it('reports its table size and BAR locations in the capability', () => {
    const { config, msix } = setUp();
    expect(config.read(msix.capOffset, 1)).toBe(0x11);
    expect(config.read(msix.capOffset + 2, 2) & 0x7ff).toBe(2);
    expect(config.read(msix.capOffset + 4, 4)).toBe(0);
    expect(config.read(msix.capOffset + 8, 4)).toBe(0x1000);
  });

  it('is off until enabled: signal returns false so the device falls back to INTx', () => {
    const { msix, sink } = setUp();
    expect(msix.signal(0)).toBe(false);
    expect(sink.messages).toEqual([]);
  });

  it('delivers the programmed message of an unmasked vector', () => {
    const { msix, sink, setControl, program } = setUp();
    program(1, 0xfee0_0000, 0x4041, false);
    setControl(MSIX_CONTROL_ENABLE);
    expect(msix.signal(1)).toBe(true);
    expect(sink.messages).toEqual(['0:fee00000=4041']);
  });

  it('holds a masked vector pending (visible in the PBA) and sends it on unmask', () => {
    const { msix, sink, setControl, program } = setUp();
    program(2, 0xfee0_1000, 0x33, true);
    setControl(MSIX_CONTROL_ENABLE);
    msix.signal(2);
    expect(sink.messages).toEqual([]);
    expect(msix.pba.read(0, 4)).toBe(0b100);
    msix.table.write(2 * 16 + 12, 4, 0);
    expect(sink.messages).toEqual(['0:fee01000=33']);
    expect(msix.pba.read(0, 4)).toBe(0);
  });

  it('the function mask holds every vector until cleared', () => {
    const { msix, sink, setControl, program } = setUp();
    program(0, 0xfee0_0000, 1, false);
    setControl(MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
    msix.signal(0);
    expect(sink.messages).toEqual([]);
    setControl(MSIX_CONTROL_ENABLE);
    expect(sink.messages).toEqual(['0:fee00000=1']);
  });

  it('entries come up masked; vectors beyond the table and table accesses past its end are ignored', () => {
    const { msix, sink, setControl } = setUp();
    expect(msix.table.read(12, 4)).toBe(1);
    setControl(MSIX_CONTROL_ENABLE);
    expect(msix.signal(7)).toBe(true);
    msix.table.write(3 * 16, 4, 0x1234);
    expect(msix.table.read(3 * 16, 4)).toBe(0xffff_ffff);
    expect(sink.messages).toEqual([]);
  });
});
