import { describe, expect, it } from 'vitest';
import { ConsoleHub, ConsoleInputBusyError, type ConsoleClient } from '../../../engine/src/console/console-hub';

function client() {
  const c = { received: '', revoked: false, closed: false } as ConsoleClient & { received: string; revoked: boolean; closed: boolean };
  c.send = (b) => void (c.received += b.toString());
  c.revokeInput = () => void (c.revoked = true);
  c.close = () => void (c.closed = true);
  return c;
}

const putText = (hub: ConsoleHub, text: string) => [...Buffer.from(text)].forEach((b) => hub.putByte(b));

describe('ConsoleHub', () => {
  it('batches guest bytes until flush, then fans them out to every client', () => {
    const hub = new ConsoleHub(1024, () => 0);
    const a = client();
    const b = client();
    hub.attach(a, { skipScrollback: false, input: false, force: false });
    hub.attach(b, { skipScrollback: false, input: false, force: false });
    putText(hub, 'boot');
    expect(a.received).toBe('');
    hub.flush();
    expect(a.received).toBe('boot');
    expect(b.received).toBe('boot');
    expect(hub.bytesOut).toBe(4);
  });

  it('grows its batch when a slice prints more than its initial size', () => {
    const hub = new ConsoleHub(1 << 16, () => 0);
    const a = client();
    hub.attach(a, { skipScrollback: false, input: false, force: false });
    putText(hub, 'x'.repeat(10_000));
    hub.flush();
    expect(a.received.length).toBe(10_000);
  });

  it('takes output in pieces too (virtio-console buffers), batched with single bytes in order', () => {
    const hub = new ConsoleHub(1 << 16, () => 0);
    const a = client();
    hub.attach(a, { skipScrollback: false, input: false, force: false });
    putText(hub, 'a');
    hub.putBytes(Buffer.from('y'.repeat(9000)));
    putText(hub, 'z');
    hub.flush();
    expect(a.received).toBe(`a${'y'.repeat(9000)}z`);
    expect(hub.bytesOut).toBe(9002);
  });

  it('replays the scrollback to a late client unless it asks not to', () => {
    const hub = new ConsoleHub(1024, () => 0);
    putText(hub, 'early output');
    hub.flush();
    const late = client();
    const fresh = client();
    hub.attach(late, { skipScrollback: false, input: false, force: false });
    hub.attach(fresh, { skipScrollback: true, input: false, force: false });
    expect(late.received).toBe('early output');
    expect(fresh.received).toBe('');
  });

  it('lets one client hold the input; force takes it over and tells the previous holder', () => {
    const hub = new ConsoleHub(1024, () => 0);
    const first = client();
    const second = client();
    hub.attach(first, { skipScrollback: false, input: true, force: false });
    expect(() => hub.attach(second, { skipScrollback: false, input: true, force: false })).toThrow(ConsoleInputBusyError);
    hub.attach(second, { skipScrollback: false, input: true, force: true });
    expect(first.revoked).toBe(true);
    expect(() => hub.input(first, Buffer.from('x'))).toThrow(ConsoleInputBusyError);
    expect(hub.holdsInput(second)).toBe(true);
  });

  it('feeds input as the guest FIFO accepts it and resumes on pump', () => {
    const delivered: string[] = [];
    let room = 3;
    const hub = new ConsoleHub(1024, (bytes) => {
      const n = Math.min(room, bytes.length);
      delivered.push(Buffer.from(bytes.subarray(0, n)).toString());
      room -= n;
      return n;
    });
    const writer = client();
    hub.attach(writer, { skipScrollback: false, input: true, force: false });
    hub.input(writer, Buffer.from('hello'));
    expect(delivered.join('')).toBe('hel');
    room = 16;
    hub.pump();
    expect(delivered.join('')).toBe('hello');
  });

  it('close flushes, closes every client and frees the input', () => {
    const hub = new ConsoleHub(1024, () => 0);
    const a = client();
    hub.attach(a, { skipScrollback: false, input: true, force: false });
    putText(hub, 'bye');
    hub.close();
    expect(a.received).toBe('bye');
    expect(a.closed).toBe(true);
    expect(hub.clientCount).toBe(0);
  });

  it('still replays the scrollback to a client attaching after the guest stopped, then ends it', () => {
    const hub = new ConsoleHub(1024, () => 0);
    putText(hub, 'last words');
    hub.close();
    const late = client();
    hub.attach(late, { skipScrollback: false, input: false, force: false });
    expect(late.received).toBe('last words');
    expect(late.closed).toBe(true);
    expect(hub.clientCount).toBe(0);
  });
});
