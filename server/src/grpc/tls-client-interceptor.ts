import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { certificateIdentities, type TlsClientPolicy } from '../access';
import { readOnlyCall, refusedCall } from './read-only-interceptor';

/**
 * The main server's gate for mTLS clients: the TLS handshake proved the certificate was signed by the CA; this
 * decides what its identities may do (TlsClientPolicy). Calls on the unix socket carry no certificate and pass:
 * file permissions gate them. A CA-signed certificate on no list is PERMISSION_DENIED, not UNAUTHENTICATED: the
 * caller is identified, it is just not allowed (gRPC's status code guide).
 */
export function tlsClientInterceptor(policy: TlsClientPolicy): ServerInterceptor {
  return (method, call) => {
    const auth = call.getAuthContext();
    if (auth.transportSecurityType !== 'ssl') return new ServerInterceptingCall(call);
    const identities = certificateIdentities(auth.sslPeerCertificate);
    const access = policy.accessOf(identities);
    if (access === 'full') return new ServerInterceptingCall(call);
    if (access === 'read-only') return readOnlyCall(method, call, undefined, `for client certificate ${identities.join(', ')} (read-only)`);
    return refusedCall(call, `client certificate ${identities.join(', ') || '(no identity)'} is not on --tls-allow or --tls-allow-read-only`);
  };
}
