export * from './virtio-console';
