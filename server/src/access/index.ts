export type { AccessConfig } from './access-config';
export { checkFits, hostBudget, parseRatio, DEFAULT_OVERCOMMIT, type DomainUse, type HostCapacity, type OvercommitRatios } from './host-limits';
export { ImageRoots } from './image-roots';
export { consoleWriteOf, readOnlyAccess, splitMethodPath, type MethodAccess } from './read-only-policy';
export { applySocketAccess, defaultReadOnlySocket, resolveGroup, MAIN_SOCKET_MODE, READ_ONLY_SOCKET_MODE } from './socket-access';
export { mutualTlsCredentials, parseListenAddress, type TlsFiles } from './tls';
export { certificateIdentities, TlsClientPolicy, type TlsClientAccess } from './tls-clients';
