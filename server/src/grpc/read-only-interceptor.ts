import {
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { consoleWriteOf, readOnlyAccess, type MethodAccess } from '../access/read-only-policy';
import { ApiError, toServiceError } from '../errors';

type Method = ServerMethodDefinition<unknown, unknown>;

/**
 * The read-only socket's gate, as one grpc-js server interceptor in front of the very same service implementations
 * the main socket serves: a denied method is answered PERMISSION_DENIED (naming it) before its handler ever runs;
 * on the console stream each client message is checked, and one that would write to the guest ends the call with
 * PERMISSION_DENIED (the handler sees the call cancelled and lets go of the engine stream). `where` names the gate
 * in the refusal ("on the read-only socket", "for this client certificate").
 */
export function readOnlyInterceptor(policy: (methodPath: string) => MethodAccess = readOnlyAccess, where = 'on the read-only socket'): ServerInterceptor {
  return (method, call) => readOnlyCall(method, call, policy, where);
}

export function readOnlyCall(
  method: Method,
  call: ServerInterceptingCallInterface,
  policy: (methodPath: string) => MethodAccess = readOnlyAccess,
  where = 'on the read-only socket',
): ServerInterceptingCall {
  const access = policy(method.path);
  if (access === 'read') return new ServerInterceptingCall(call);
  if (access === 'deny') return refusedCall(call, `${rpcName(method.path)} is not allowed ${where}`);
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message, forward) => {
          const write = consoleWriteOf(message);
          if (write) deny(call, `${rpcName(method.path)} ${write}: not allowed ${where}`);
          else forward(message);
        },
      }),
  });
}

/** A call answered PERMISSION_DENIED with this message as soon as its metadata arrives; no handler runs. */
export function refusedCall(call: ServerInterceptingCallInterface, message: string): ServerInterceptingCall {
  return new ServerInterceptingCall(call, {
    start: (next) => next({ onReceiveMetadata: () => deny(call, message) }),
  });
}

/** "hypervisor.v1.DomainService/CreateDomain" from "/hypervisor.v1.DomainService/CreateDomain". */
function rpcName(methodPath: string): string {
  return methodPath.replace(/^\//, '');
}

function deny(call: ServerInterceptingCallInterface, message: string): void {
  const { code, details, metadata } = toServiceError(new ApiError(status.PERMISSION_DENIED, message));
  call.sendStatus({ code: code!, details: details!, metadata: metadata ?? null });
}
