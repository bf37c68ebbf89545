import type { PeerCertificate } from 'node:tls';

/** How a listed identity names a certificate: its subject CN, or one subjectAltName entry (openssl's notation). */
const KINDS = ['CN', 'DNS', 'URI', 'email', 'IP'] as const;

/** What a TCP client with a CA-signed certificate may do: everything, the read-only socket's calls, or nothing. */
export type TlsClientAccess = 'full' | 'read-only' | 'none';

/**
 * Authorisation of mTLS clients by certificate identity (`--tls-allow`, `--tls-allow-read-only`). An identity is
 * `CN:<subject common name>` or a subjectAltName entry `DNS:<name>`, `URI:<uri>`, `email:<address>`, `IP:<address>`;
 * a certificate has access when any of its identities is listed (full access wins). With both lists empty every
 * certificate the CA signed has full access, as before allow-lists existed.
 */
export class TlsClientPolicy {
  private readonly full: ReadonlySet<string>;
  private readonly readOnly: ReadonlySet<string>;

  constructor(full: readonly string[], readOnly: readonly string[]) {
    for (const [flag, list] of [['--tls-allow', full], ['--tls-allow-read-only', readOnly]] as const) {
      for (const identity of list) {
        if (!KINDS.some((kind) => identity.startsWith(`${kind}:`) && identity.length > kind.length + 1)) {
          throw new Error(`${flag} "${identity}": expected ${KINDS.map((k) => `${k}:<value>`).join(', ')}`);
        }
      }
    }
    this.full = new Set(full);
    this.readOnly = new Set(readOnly);
  }

  /** Allow-lists are configured: clients not on them are refused. */
  get restricts(): boolean {
    return this.full.size > 0 || this.readOnly.size > 0;
  }

  accessOf(identities: readonly string[]): TlsClientAccess {
    if (!this.restricts || identities.some((id) => this.full.has(id))) return 'full';
    if (identities.some((id) => this.readOnly.has(id))) return 'read-only';
    return 'none';
  }
}

/** A certificate's identities: `CN:` for each subject common name, then its subjectAltName entries. */
export function certificateIdentities(cert: PeerCertificate | undefined): string[] {
  if (!cert) return [];
  const cn = cert.subject?.CN as string | string[] | undefined;
  const names = (Array.isArray(cn) ? cn : cn !== undefined ? [cn] : []).map((name) => `CN:${name}`);
  // Node renders subjectAltName as "DNS:a, IP Address:1.2.3.4, URI:spiffe://x, email:m@x".
  const alt = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry !== '')
    .map((entry) => entry.replace(/^IP Address:/, 'IP:'));
  return [...names, ...alt];
}
