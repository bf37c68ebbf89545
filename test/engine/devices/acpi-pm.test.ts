import { describe, expect, it } from 'vitest';
import { Bus, type WarnLogger } from '../../../engine/src/bus';
import {
  AcpiPm,
  PM1_CNT_SCI_EN,
  PM1_CNT_SLP_EN,
  PM1_CNT_SLP_TYP_SHIFT,
  PM1_EN_PWRBTN,
  PM1_STS_PWRBTN,
  PM1A_CNT,
  PM1A_CNT_LEN,
  PM1A_EVT,
  PM1A_EVT_LEN,
} from '../../../engine/src/devices';
import { CountingIrqLine } from '../../../engine/src/irq';

const PM1_STS = PM1A_EVT;
const PM1_EN = PM1A_EVT + 2;
const PM1_CNT = PM1A_CNT;
const slpTyp = (type: number): number => type << PM1_CNT_SLP_TYP_SHIFT;

function platform() {
  const sci = new CountingIrqLine();
  const warnings: string[] = [];
  const logger: WarnLogger = { warn: (_obj, msg) => warnings.push(msg) };
  let powerOffs = 0;
  const pm = new AcpiPm({ sci, onPowerOff: () => powerOffs++, logger });
  const bus = new Bus('pio');
  bus.insert(PM1A_EVT, PM1A_EVT_LEN, pm.eventBlock, 'pm1a-evt');
  bus.insert(PM1A_CNT, PM1A_CNT_LEN, pm.controlBlock, 'pm1a-cnt');
  return { pm, bus, sci, warnings, powerOffs: () => powerOffs };
}

describe('AcpiPm event block', () => {
  it('starts with nothing pending or enabled, and SCI_EN set (no SMI_CMD: ACPI mode from reset)', () => {
    const { bus } = platform();
    expect(bus.read(PM1_STS, 2)).toBe(0);
    expect(bus.read(PM1_EN, 2)).toBe(0);
    expect(bus.read(PM1_CNT, 2)).toBe(PM1_CNT_SCI_EN);
  });

  it('the power button sets PWRBTN_STS, which writing 1 clears and writing 0 leaves', () => {
    const { pm, bus } = platform();
    pm.pressPowerButton();
    expect(bus.read(PM1_STS, 2)).toBe(PM1_STS_PWRBTN);
    bus.write(PM1_STS, 2, 0);
    bus.write(PM1_STS, 2, ~PM1_STS_PWRBTN & 0xffff);
    expect(bus.read(PM1_STS, 2)).toBe(PM1_STS_PWRBTN);
    bus.write(PM1_STS, 2, PM1_STS_PWRBTN);
    expect(bus.read(PM1_STS, 2)).toBe(0);
  });

  it('PM1_EN is plain read/write and does not disturb PM1_STS', () => {
    const { pm, bus } = platform();
    pm.pressPowerButton();
    bus.write(PM1_EN, 2, PM1_EN_PWRBTN);
    expect(bus.read(PM1_EN, 2)).toBe(PM1_EN_PWRBTN);
    expect(bus.read(PM1_STS, 2)).toBe(PM1_STS_PWRBTN);
    bus.write(PM1_EN, 2, 0);
    expect(bus.read(PM1_EN, 2)).toBe(0);
  });

  it('byte accesses reach each half of each register', () => {
    const { pm, bus } = platform();
    pm.pressPowerButton();
    expect(bus.read(PM1_STS, 1)).toBe(0);
    expect(bus.read(PM1_STS + 1, 1)).toBe(PM1_STS_PWRBTN >> 8);
    bus.write(PM1_STS, 1, 0xff); // the low byte holds no PWRBTN_STS: nothing to clear
    expect(bus.read(PM1_STS, 2)).toBe(PM1_STS_PWRBTN);
    bus.write(PM1_STS + 1, 1, PM1_STS_PWRBTN >> 8);
    expect(bus.read(PM1_STS, 2)).toBe(0);
    bus.write(PM1_EN + 1, 1, PM1_EN_PWRBTN >> 8);
    bus.write(PM1_EN, 1, 0x20); // the low byte write keeps the high byte
    expect(bus.read(PM1_EN, 2)).toBe(PM1_EN_PWRBTN | 0x20);
  });

  it('a 32-bit access covers PM1_STS (low half) and PM1_EN (high half)', () => {
    const { pm, bus } = platform();
    pm.pressPowerButton();
    bus.write(PM1_EN, 2, PM1_EN_PWRBTN);
    expect(bus.read(PM1_STS, 4)).toBe(((PM1_EN_PWRBTN << 16) | PM1_STS_PWRBTN) >>> 0);
    bus.write(PM1_STS, 4, PM1_STS_PWRBTN); // clears the status and zeroes PM1_EN in one write
    expect(bus.read(PM1_STS, 4)).toBe(0);
    bus.write(PM1_STS, 4, 0xffff_0000);
    expect(bus.read(PM1_EN, 2)).toBe(0xffff);
    expect(bus.read(PM1_STS, 4)).toBe(0xffff_0000);
  });
});

describe('AcpiPm SCI', () => {
  it('rises on a press only with PWRBTN_EN, falls when the guest clears PWRBTN_STS', () => {
    const { pm, bus, sci } = platform();
    pm.pressPowerButton();
    expect(sci.high).toBe(false); // not enabled yet: pending only
    bus.write(PM1_EN, 2, PM1_EN_PWRBTN);
    expect(sci.high).toBe(true); // enabling a pending event raises it
    bus.write(PM1_STS, 2, PM1_STS_PWRBTN);
    expect(sci.high).toBe(false);
    pm.pressPowerButton();
    expect(sci.rises).toBe(2);
    bus.write(PM1_EN, 2, 0);
    expect(sci.high).toBe(false);
  });

  it('needs SCI_EN', () => {
    const { pm, bus, sci } = platform();
    bus.write(PM1_CNT, 2, 0);
    bus.write(PM1_EN, 2, PM1_EN_PWRBTN);
    pm.pressPowerButton();
    expect(sci.high).toBe(false);
    bus.write(PM1_CNT, 2, PM1_CNT_SCI_EN);
    expect(sci.high).toBe(true);
  });

  it('reset clears status and enables and lowers the line', () => {
    const { pm, bus, sci } = platform();
    bus.write(PM1_EN, 2, PM1_EN_PWRBTN);
    pm.pressPowerButton();
    pm.reset();
    expect(sci.high).toBe(false);
    expect(bus.read(PM1_STS, 4)).toBe(0);
    expect(bus.read(PM1_CNT, 2)).toBe(PM1_CNT_SCI_EN);
  });
});

describe('AcpiPm control block', () => {
  it('SLP_EN with SLP_TYP 0 (S5) powers off; SLP_EN reads back 0, SLP_TYP sticks', () => {
    const { bus, powerOffs } = platform();
    bus.write(PM1_CNT, 2, PM1_CNT_SCI_EN | slpTyp(0) | PM1_CNT_SLP_EN);
    expect(powerOffs()).toBe(1);
    expect(bus.read(PM1_CNT, 2)).toBe(PM1_CNT_SCI_EN);
    bus.write(PM1_CNT, 2, PM1_CNT_SCI_EN | slpTyp(5));
    expect(bus.read(PM1_CNT, 2)).toBe(PM1_CNT_SCI_EN | slpTyp(5));
    expect(powerOffs()).toBe(1); // SLP_TYP alone does nothing
  });

  it('other sleep types are logged once each and ignored', () => {
    const { bus, powerOffs, warnings } = platform();
    for (let i = 0; i < 3; i++) bus.write(PM1_CNT, 2, slpTyp(1) | PM1_CNT_SLP_EN);
    bus.write(PM1_CNT, 2, slpTyp(5) | PM1_CNT_SLP_EN);
    expect(powerOffs()).toBe(0);
    expect(warnings).toEqual([
      'acpi-pm: guest asked for sleep type 1; only S5 (SLP_TYP 0) is supported: ignored',
      'acpi-pm: guest asked for sleep type 5; only S5 (SLP_TYP 0) is supported: ignored',
    ]);
  });

  it('a byte write to the high half merges with the low half, as QEMU does', () => {
    const { bus, powerOffs } = platform();
    bus.write(PM1_CNT + 1, 1, (slpTyp(0) | PM1_CNT_SLP_EN) >> 8);
    expect(powerOffs()).toBe(1);
    expect(bus.read(PM1_CNT, 1)).toBe(PM1_CNT_SCI_EN); // the low byte survived
    bus.write(PM1_CNT, 1, 0);
    expect(bus.read(PM1_CNT, 2)).toBe(0);
    bus.write(PM1_CNT + 1, 1, (slpTyp(3) | PM1_CNT_SLP_EN) >> 8);
    expect(bus.read(PM1_CNT + 1, 1)).toBe(slpTyp(3) >> 8);
  });

  it('a 32-bit access at PM1_CNT does not fit PM1_CNT_LEN 2 and reaches nothing', () => {
    const { bus, powerOffs } = platform();
    bus.write(PM1_CNT, 4, PM1_CNT_SLP_EN);
    expect(powerOffs()).toBe(0);
    expect(bus.read(PM1_CNT, 4)).toBe(0xffffffff);
    expect(bus.badAccessStats().straddling).toBe(2);
  });
});
