export * from './virtio-balloon';
