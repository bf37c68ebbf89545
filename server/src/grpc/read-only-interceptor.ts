import { ServerInterceptingCall, status, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import { consoleWriteOf, readOnlyAccess, type MethodAccess } from '../access/read-only-policy';
import { ApiError, toServiceError } from '../errors';

/**
 * The read-only socket's gate, as one grpc-js server interceptor in front of the very same service implementations
 * the main socket serves: a denied method is answered PERMISSION_DENIED (naming it) before its handler ever runs;
 * on the console stream each client message is checked, and one that would write to the guest ends the call with
 * PERMISSION_DENIED (the handler sees the call cancelled and lets go of the engine stream).
 */
export function readOnlyInterceptor(policy: (methodPath: string) => MethodAccess = readOnlyAccess): ServerInterceptor {
  return (method, call) => {
    const access = policy(method.path);
    if (access === 'read') return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            if (access === 'deny') deny(call, `${rpcName(method.path)} is not allowed on the read-only socket`);
            else forward(metadata);
          },
          onReceiveMessage: (message, forward) => {
            const write = consoleWriteOf(message);
            if (write) deny(call, `${rpcName(method.path)} ${write}: not allowed on the read-only socket`);
            else forward(message);
          },
        }),
    });
  };
}

/** "hypervisor.v1.DomainService/CreateDomain" from "/hypervisor.v1.DomainService/CreateDomain". */
function rpcName(methodPath: string): string {
  return methodPath.replace(/^\//, '');
}

function deny(call: ServerInterceptingCallInterface, message: string): void {
  const { code, details, metadata } = toServiceError(new ApiError(status.PERMISSION_DENIED, message));
  call.sendStatus({ code: code!, details: details!, metadata: metadata ?? null });
}
