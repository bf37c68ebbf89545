export { createLinkPair, type NetBackend } from './net-backend';
export * from './virtio-net';
