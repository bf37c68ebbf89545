import { Scrollback } from './scrollback';

/** A client attached to the console: receives output, and may hold the input. */
export interface ConsoleClient {
  send(output: Buffer): void;
  /** Another client took the input with force. */
  revokeInput(): void;
  /** The console is gone (the guest stopped). */
  close(): void;
}

export interface AttachOptions {
  skipScrollback: boolean;
  input: boolean;
  force: boolean;
}

export class ConsoleInputBusyError extends Error {
  constructor() {
    super('console input is held by another client; attach with force to take it over');
  }
}

/** Initial size of the output batch; it grows if the guest prints more within one slice. */
const BATCH_BYTES = 4096;

/**
 * One console of the guest on the engine side (the serial console, or a virtio-console device): batches guest
 * output per vCPU slice, keeps the scrollback, fans output out to many readers, and feeds input from the one
 * client holding it into the device as its receive side drains.
 */
export class ConsoleHub {
  private readonly scrollback: Scrollback;
  private readonly clients = new Set<ConsoleClient>();
  private writer: ConsoleClient | undefined;
  private batch = Buffer.alloc(BATCH_BYTES);
  private batchLength = 0;
  private readonly inputQueue: Buffer[] = [];
  /** The guest stopped: late clients still get the scrollback, then the end. */
  private closed = false;
  bytesOut = 0;

  /** `deliverInput` offers bytes to the guest's receive side and returns how many it took. */
  constructor(scrollbackBytes: number, private readonly deliverInput: (bytes: Uint8Array) => number) {
    this.scrollback = new Scrollback(scrollbackBytes);
  }

  /** Guest side: one transmitted byte (called per byte from the UART, so it only appends). */
  putByte(byte: number): void {
    if (this.batchLength === this.batch.length) this.grow(1);
    this.batch[this.batchLength++] = byte;
  }

  /** Guest side: transmitted bytes in one piece (a virtio-console transmit buffer). */
  putBytes(bytes: Uint8Array): void {
    if (this.batchLength + bytes.length > this.batch.length) this.grow(bytes.length);
    this.batch.set(bytes, this.batchLength);
    this.batchLength += bytes.length;
  }

  private grow(atLeast: number): void {
    let size = this.batch.length * 2;
    while (size < this.batchLength + atLeast) size *= 2;
    const bigger = Buffer.alloc(size);
    this.batch.copy(bigger, 0, 0, this.batchLength);
    this.batch = bigger;
  }

  /** Sends the batched output to the scrollback and every client; called after each vCPU slice. */
  flush(): void {
    if (this.batchLength === 0) return;
    const chunk = Buffer.from(this.batch.subarray(0, this.batchLength));
    this.batchLength = 0;
    this.bytesOut += chunk.length;
    this.scrollback.append(chunk);
    for (const client of this.clients) client.send(chunk);
  }

  attach(client: ConsoleClient, options: AttachOptions): void {
    if (options.input && this.writer && !options.force) throw new ConsoleInputBusyError();
    this.flush();
    if (!options.skipScrollback) {
      const history = this.scrollback.snapshot();
      if (history.length > 0) client.send(history);
    }
    if (this.closed) return client.close();
    this.clients.add(client);
    if (options.input) {
      if (this.writer) this.writer.revokeInput();
      this.writer = client;
    }
  }

  detach(client: ConsoleClient): void {
    this.clients.delete(client);
    if (this.writer === client) this.writer = undefined;
  }

  holdsInput(client: ConsoleClient): boolean {
    return this.writer === client;
  }

  /** Client side: queues input for the guest; throws unless the client holds the input. */
  input(client: ConsoleClient, bytes: Buffer): void {
    if (this.writer !== client) throw new ConsoleInputBusyError();
    if (bytes.length === 0) return;
    this.inputQueue.push(bytes);
    this.pump();
  }

  /** Moves queued input into the guest as far as its receive FIFO allows; call again when the guest drains it. */
  pump(): void {
    while (this.inputQueue.length > 0) {
      const head = this.inputQueue[0];
      const taken = this.deliverInput(head);
      if (taken >= head.length) {
        this.inputQueue.shift();
        continue;
      }
      this.inputQueue[0] = head.subarray(taken);
      return;
    }
  }

  /** Detaches every client (the guest stopped). */
  close(): void {
    this.flush();
    this.closed = true;
    for (const client of this.clients) client.close();
    this.clients.clear();
    this.writer = undefined;
  }

  get clientCount(): number {
    return this.clients.size;
  }
}
