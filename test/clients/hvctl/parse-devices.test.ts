import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBalloon, parseDisk, parseNic } from '../../../clients/hvctl/parse-devices';

describe('hvctl create device options', () => {
  it('--disk takes a path (made absolute), ro and serial=', () => {
    expect(parseDisk('images/a.img,ro,serial=abc').kind).toEqual({ $case: 'disk', value: { path: resolve('images/a.img'), readOnly: true, serial: 'abc' } });
    expect(parseDisk('/x.img').kind).toEqual({ $case: 'disk', value: { path: '/x.img', readOnly: false, serial: '' } });
    expect(() => parseDisk('/x.img,rw')).toThrow(/unknown option "rw"/);
    expect(() => parseDisk(',ro')).toThrow(/a path comes first/);
  });

  it('--nic takes a tap and an optional mac=', () => {
    expect(parseNic('tap0,mac=52:54:00:12:34:56').kind).toEqual({ $case: 'nic', value: { tap: 'tap0', mac: '52:54:00:12:34:56' } });
    expect(parseNic('tap1').kind).toEqual({ $case: 'nic', value: { tap: 'tap1', mac: '' } });
    expect(() => parseNic('tap0,model=e1000')).toThrow(/unknown option/);
  });

  it('--balloon takes stats= and deflate-on-oom', () => {
    expect(parseBalloon('stats=5,deflate-on-oom').kind).toEqual({ $case: 'balloon', value: { statsPeriodSeconds: 5, deflateOnOom: true } });
    expect(parseBalloon('').kind).toEqual({ $case: 'balloon', value: { statsPeriodSeconds: 0, deflateOnOom: false } });
    expect(() => parseBalloon('stats=x')).toThrow(/unknown option/);
  });
});
