import { describe, expect, it } from 'vitest';
import { mutualTlsCredentials, parseListenAddress } from '../../../server/src/access';

describe('mutualTlsCredentials', () => {
  it('refuses a TCP listener without all three files, naming the missing flags', () => {
    expect(() => mutualTlsCredentials({})).toThrow('a TCP listener is served only with mutual TLS: --tls-cert, --tls-key, --tls-ca are missing');
    expect(() => mutualTlsCredentials({ cert: 'c', key: 'k' })).toThrow('--tls-ca is missing');
    expect(() => mutualTlsCredentials({ cert: '/nonexistent/c', key: 'k', ca: 'a' })).toThrow(/--tls-ca a: ENOENT/);
  });
});

describe('parseListenAddress', () => {
  it('takes host:port and [v6]:port', () => {
    expect(parseListenAddress('127.0.0.1:16514')).toEqual({ host: '127.0.0.1', port: 16514 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '[::1]', port: 0 });
    expect(parseListenAddress('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    for (const bad of ['16514', '127.0.0.1', '1.2.3.4:70000', '::1:5', 'a b:1']) expect(() => parseListenAddress(bad)).toThrow(/--listen/);
  });
});
