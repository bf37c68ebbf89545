export * from './blk-config';
export { RawFileBackend, type BlockBackend } from './raw-file-backend';
export * from './virtio-blk';
export { BouncePool } from './bounce-pool';
