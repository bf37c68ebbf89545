import type { ServiceError } from '@grpc/grpc-js';
import type { DomainStatus } from '../../gen/hypervisor/v1/domain';
import type { DomainServiceClient, StreamConsoleResponse } from '../../gen/hypervisor/v1/domain_service';

/** A StreamConsole client as a user's would be: collects output, sends input, and sees how the stream ends. */
export class ConsoleSession {
  output = '';
  inputRevoked = false;
  /** The final status sent before the stream ended OK, or the error it ended with. */
  readonly ended: Promise<{ closed?: DomainStatus; error?: ServiceError; messagesAfterClosed: number }>;
  private readonly stream;
  private waiters: (() => void)[] = [];

  constructor(client: DomainServiceClient, open: { domain: string; input?: boolean; force?: boolean; skipScrollback?: boolean; device?: string }) {
    this.stream = client.streamConsole();
    const { input = false, force = false, skipScrollback = false, device = '' } = open;
    this.stream.write({ kind: { $case: 'open', value: { domain: open.domain, input, force, skipScrollback, device } } });
    let closed: DomainStatus | undefined;
    let messagesAfterClosed = 0;
    this.stream.on('data', (message: StreamConsoleResponse) => {
      if (closed) messagesAfterClosed++;
      const kind = message.kind;
      if (kind?.$case === 'output') this.output += kind.value.toString('latin1');
      else if (kind?.$case === 'inputRevoked') this.inputRevoked = true;
      else if (kind?.$case === 'closed') closed = kind.value;
      this.waiters.forEach((w) => w());
    });
    this.ended = new Promise((resolve) => {
      this.stream.on('end', () => resolve({ closed, messagesAfterClosed }));
      this.stream.on('error', (error: ServiceError) => resolve({ closed, error, messagesAfterClosed }));
    });
  }

  send(text: string): void {
    this.stream.write({ kind: { $case: 'input', value: Buffer.from(text, 'latin1') } });
  }

  /** Resolves when the output matches; rejects with the output so far after the timeout. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern);
        if (!match) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(match);
        return true;
      };
      const waiter = () => void check();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`console output did not match ${pattern} within ${timeoutMs} ms; got:\n${this.output}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(waiter);
    });
  }

  cancel(): void {
    this.stream.cancel();
  }
}
