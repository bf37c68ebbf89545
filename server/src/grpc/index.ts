export { ApiServer, removeStaleSocket, type ApiEndpoints, type ApiServerConfig } from './api-server';
export { findProtoRoot, loadApiFileDescriptors, loadApiPackage } from './api-protos';
export { unary } from './handle';
export { readOnlyInterceptor } from './read-only-interceptor';
export { StandardServices } from './standard-services';
