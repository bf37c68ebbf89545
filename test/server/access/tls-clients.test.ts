import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { certificateIdentities, TlsClientPolicy } from '../../../server/src/access';

const cert = (subject: Record<string, string | string[]>, subjectaltname?: string) => ({ subject, subjectaltname }) as unknown as PeerCertificate;

describe('certificateIdentities', () => {
  it('names the subject CN and every subjectAltName entry in openssl notation', () => {
    expect(certificateIdentities(cert({ CN: 'admin', O: 'hv' }, 'DNS:ctl.example, IP Address:10.0.0.1, URI:spiffe://hv/ctl, email:ops@example'))).toEqual([
      'CN:admin',
      'DNS:ctl.example',
      'IP:10.0.0.1',
      'URI:spiffe://hv/ctl',
      'email:ops@example',
    ]);
    expect(certificateIdentities(cert({ CN: ['a', 'b'] }))).toEqual(['CN:a', 'CN:b']);
    expect(certificateIdentities(undefined)).toEqual([]);
  });
});

describe('TlsClientPolicy', () => {
  it('gives full access to listed identities first, then read-only, else none', () => {
    const policy = new TlsClientPolicy(['CN:admin'], ['URI:spiffe://hv/viewer', 'CN:admin2']);
    expect(policy.accessOf(['CN:admin', 'URI:spiffe://hv/viewer'])).toBe('full');
    expect(policy.accessOf(['CN:someone', 'URI:spiffe://hv/viewer'])).toBe('read-only');
    expect(policy.accessOf(['CN:someone'])).toBe('none');
    // A name in the wrong kind does not match: DNS:admin is not CN:admin.
    expect(policy.accessOf(['DNS:admin'])).toBe('none');
  });

  it('without lists every CA-signed certificate has full access', () => {
    const open = new TlsClientPolicy([], []);
    expect(open.restricts).toBe(false);
    expect(open.accessOf([])).toBe('full');
  });

  it('refuses identities without a kind', () => {
    expect(() => new TlsClientPolicy(['admin'], [])).toThrow(/--tls-allow "admin": expected CN:<value>/);
    expect(() => new TlsClientPolicy([], ['CN:'])).toThrow(/--tls-allow-read-only "CN:"/);
  });
});
