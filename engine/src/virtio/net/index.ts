export * from './mac-address';
export { createLinkPair, type NetBackend } from './net-backend';
export { TapBackend, TAP_NAME_MAX, tapNameProblem, type TapStats } from './tap-backend';
export * from './virtio-net';
