import type { OvercommitRatios } from './host-limits';
import type { TlsFiles } from './tls';

/** Who may reach hvd and what domains may use: the access flags of hvd, parsed. */
export interface AccessConfig {
  /** Group of the main socket (name from /etc/group, or a number); unset leaves hvd's own group. */
  socketGroup?: string;
  /** The read-only socket; undefined → beside the main socket (hvd-ro.sock), false → none. */
  roSocket?: string | false;
  /** Optional TCP listener "host:port", served only with mutual TLS. */
  listen?: string;
  tls?: TlsFiles;
  /** Client certificate identities (CN:…, DNS:…, URI:…) with full access on TCP; empty with tlsAllowReadOnly → any. */
  tlsAllow?: string[];
  /** Client certificate identities limited to the read-only socket's calls on TCP. */
  tlsAllowReadOnly?: string[];
  /** Directories kernel/initrd/disk images must come from; empty → not confined to roots (other checks apply). */
  imageRoots?: string[];
  /** Overcommit of running domains' vCPUs and memory (defaults DEFAULT_OVERCOMMIT). */
  overcommit?: OvercommitRatios;
}
