export { allOnes, isAccessSize, SPLIT_ACCESS_SIZE, type AccessSize } from './access-size';
export {
  BadAccessLog,
  formatRange,
  MAX_TRACKED_ADDRESSES,
  REPORTS_PER_ADDRESS,
  type BadAccessStats,
  type StraddledRange,
} from './bad-access-log';
export { Bus, type BusEntry } from './bus';
export type { BusDevice } from './bus-device';
export { hex, NULL_LOGGER, type WarnLogger } from './warn-logger';
