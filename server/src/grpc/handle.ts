import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toServiceError } from '../errors';

/** Adapts an async handler to grpc-js's callback style; every thrown error goes through the one error mapper. */
export function unary<Req, Res>(handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}
