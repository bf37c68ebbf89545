import type { DomainServiceClient, StreamConsoleResponse } from '../../gen/hypervisor/v1/domain_service';
import { DomainStatus } from '../../gen/hypervisor/v1/domain';

/** Ctrl-], as virsh console: leaves the console without stopping the domain. */
const ESCAPE_BYTE = 0x1d;

export interface ConsoleOptions {
  domain: string;
  force: boolean;
  skipScrollback: boolean;
  /** A console device's id; '' is the serial console. */
  device: string;
  /** Forward stdin to the guest. */
  input: boolean;
}

/** Attaches stdin/stdout to a domain's console (serial, or a console device); resolves with the final status if the domain stopped. */
export function attachConsole(client: DomainServiceClient, options: ConsoleOptions): Promise<DomainStatus | undefined> {
  return new Promise((resolve, reject) => {
    const stream = client.streamConsole();
    let final: DomainStatus | undefined;
    const stdin = process.stdin;
    const restore = () => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
    };
    stream.write({ kind: { $case: 'open', value: { domain: options.domain, force: options.force, skipScrollback: options.skipScrollback, input: options.input, device: options.device } } });
    stream.on('data', (message: StreamConsoleResponse) => {
      const kind = message.kind;
      if (kind?.$case === 'output') process.stdout.write(kind.value);
      else if (kind?.$case === 'inputRevoked') process.stderr.write('\n[hvctl: another client took the console input]\n');
      else if (kind?.$case === 'closed') final = kind.value;
    });
    stream.on('end', () => {
      restore();
      resolve(final);
    });
    stream.on('error', (err) => {
      restore();
      if ((err as { code?: number }).code === 1 /* CANCELLED: we detached */) resolve(undefined);
      else reject(err);
    });
    if (!options.input) return;
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', (chunk: Buffer) => {
      if (stdin.isTTY && chunk.includes(ESCAPE_BYTE)) return stream.cancel();
      stream.write({ kind: { $case: 'input', value: chunk } });
    });
    stdin.on('end', () => stream.end());
  });
}
