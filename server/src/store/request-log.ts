import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { invalidField } from '../errors';
import type { Store } from './store';

/** The part of a generated message's functions the log needs. */
interface Codec<T> {
  encode(message: T): BinaryWriter;
  decode(input: Uint8Array): T;
}

/** AIP-155 suggests UUIDs; anything printable up to this length is accepted. */
const MAX_REQUEST_ID = 128;

/**
 * request_id idempotency (AIP-155): the first successful result of (method, request_id) is stored, and a retry
 * returns it without acting again — also after an hvd restart. A retry arriving while the first is still running
 * waits for it. Failures are not stored: a retry after a failure tries again.
 */
export class RequestLog {
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly store: Store) {}

  async once<Res>(method: string, requestId: string, codec: Codec<Res>, run: () => Promise<Res>): Promise<Res> {
    if (requestId === '') return run();
    if (requestId.length > MAX_REQUEST_ID || !/^[\x21-\x7e]+$/.test(requestId)) {
      throw invalidField('request_id', `must be 1-${MAX_REQUEST_ID} printable ASCII characters (a UUID is best)`);
    }
    const stored = this.store.getRequestResult(method, requestId);
    if (stored) return codec.decode(stored);
    const key = `${method}\0${requestId}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = run().then((response) => {
        const bytes = codec.encode(response).finish();
        this.store.putRequestResult(method, requestId, bytes);
        return bytes;
      });
      this.inflight.set(key, pending);
      const forget = () => this.inflight.delete(key);
      pending.then(forget, forget);
    }
    return codec.decode(await pending);
  }
}
