export type { GuestMemoryWriter } from './guest-memory-writer';
export { GuestRam } from './guest-ram';
export { GuestMemoryError, GuestMemoryMap } from './guest-memory-map';
