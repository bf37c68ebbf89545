import * as fs from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';

/** PEM files of the TCP listener: hvd's certificate and key, and the CA that signs accepted client certificates. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/**
 * Credentials for the TCP listener: TLS with a required, CA-verified client certificate (mutual TLS). There is no
 * plaintext TCP: without all three files this throws, and hvd refuses to start.
 */
export function mutualTlsCredentials(files: TlsFiles): ServerCredentials {
  const missing = (['cert', 'key', 'ca'] as const).filter((k) => !files[k]).map((k) => `--tls-${k}`);
  if (missing.length > 0) {
    throw new Error(`a TCP listener is served only with mutual TLS: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  }
  const read = (flag: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const ca = read('--tls-ca', files.ca!);
  const cert = read('--tls-cert', files.cert!);
  const key = read('--tls-key', files.key!);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
}

/** Checks a `--listen` address: "host:port" or "[v6]:port", port 0-65535 (0 picks a free one). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new Error(`--listen "${address}": expected host:port (e.g. 0.0.0.0:16514 or [::]:16514)`);
  return { host: match[1], port };
}
