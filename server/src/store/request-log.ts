import { createHash } from 'node:crypto';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { invalidField } from '../errors';
import type { Store } from './store';

/** The part of a generated message's functions the log needs. */
export interface Codec<T> {
  encode(message: T): BinaryWriter;
  decode(input: Uint8Array): T;
}

/** AIP-155 suggests UUIDs; anything printable up to this length is accepted. */
const MAX_REQUEST_ID = 128;

/**
 * request_id idempotency (AIP-155): the first successful result of (method, request_id) is stored, and a retry
 * returns it without acting again — also after an hvd restart. A retry arriving while the first is still running
 * waits for it. Failures are not stored: a retry after a failure tries again. The id belongs to one request: the
 * same id with other fields (another domain, say) is refused rather than answered with the first one's result.
 */
export class RequestLog {
  /** Requests running now, by method and id, with the digest of what they asked. */
  private readonly inflight = new Map<string, { digest: string; result: Promise<Uint8Array> }>();

  constructor(private readonly store: Store) {}

  /** `request` is the request's encoding without its request_id: what makes two uses of one id the same request. */
  async once<Res>(method: string, requestId: string, request: Uint8Array, codec: Codec<Res>, run: () => Promise<Res>): Promise<Res> {
    if (requestId === '') return run();
    if (requestId.length > MAX_REQUEST_ID || !/^[\x21-\x7e]+$/.test(requestId)) {
      throw invalidField('request_id', `must be 1-${MAX_REQUEST_ID} printable ASCII characters (a UUID is best)`);
    }
    const digest = createHash('sha256').update(request).digest('hex');
    const reused = () => invalidField('request_id', `${requestId} was already used for a different ${method} request; use a new id for a new request`);
    const stored = this.store.getRequestResult(method, requestId);
    if (stored) {
      if (stored.requestDigest !== '' && stored.requestDigest !== digest) throw reused();
      return codec.decode(stored.response);
    }
    const key = `${method}\0${requestId}`;
    let running = this.inflight.get(key);
    if (running && running.digest !== digest) throw reused();
    if (!running) {
      const result = run().then((response) => {
        const bytes = codec.encode(response).finish();
        this.store.putRequestResult(method, requestId, digest, bytes);
        return bytes;
      });
      running = { digest, result };
      this.inflight.set(key, running);
      const forget = () => this.inflight.delete(key);
      result.then(forget, forget);
    }
    return codec.decode(await running.result);
  }
}
