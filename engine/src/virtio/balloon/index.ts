export * from './virtio-balloon';
export { BalloonStatsPoller } from './balloon-stats-poller';
