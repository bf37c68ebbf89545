export * from './virtio-rng';
