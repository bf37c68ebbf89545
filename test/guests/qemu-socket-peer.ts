/**
 * The host end of a QEMU character device (`-chardev socket,path=…`, QEMU connecting as the client): a unix socket
 * server the test listens on before QEMU starts, so not one byte is missed. Used for virtconsole ports and the
 * HMP monitor.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class QemuSocketPeer {
  /** Everything QEMU sent, as latin1 text. */
  received = '';
  readonly connected: Promise<Socket>;
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  private constructor(readonly path: string) {
    this.server = createServer();
    this.connected = new Promise((resolve) =>
      this.server.once('connection', (socket: Socket) => {
        socket.on('data', (chunk: Buffer) => {
          this.received += chunk.toString('latin1');
          this.waiters.forEach((w) => w());
        });
        resolve(socket);
      }),
    );
  }

  static async listen(name: string): Promise<QemuSocketPeer> {
    const peer = new QemuSocketPeer(join(mkdtempSync(join(tmpdir(), 'hv-qemu-')), `${name}.sock`));
    await new Promise<void>((resolve) => peer.server.listen(peer.path, resolve));
    return peer;
  }

  /** The -chardev argument naming this socket. */
  chardev(id: string): string {
    return `socket,id=${id},path=${this.path}`;
  }

  async send(text: string): Promise<void> {
    (await this.connected).write(text);
  }

  /** Resolves once `text` has been received (the QEMU run's own timeout bounds the wait). */
  waitFor(text: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!this.received.includes(text)) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
      check();
    });
  }

  close(): void {
    void this.connected.then((socket) => socket.destroy());
    this.server.close();
  }
}
