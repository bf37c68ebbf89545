import { status } from '@grpc/grpc-js';
import type { DomainEvent } from '../../../gen/hypervisor/v1/events';
import { ApiError } from '../errors';
import type { Store } from '../store/store';

/** Events kept for clients resuming a WatchEvents stream. */
export const EVENT_HISTORY = 1000;

export type EventKind = NonNullable<DomainEvent['kind']>;
type Listener = (event: DomainEvent) => void;

/**
 * Lifecycle and device events, numbered by one sequence that increases by one per event and continues across hvd
 * restarts (the history is stored). Watchers get live events; a resuming watcher first gets what it missed.
 */
export class EventLog {
  private readonly history: DomainEvent[];
  private readonly listeners = new Set<Listener>();
  private nextSequence: number;

  constructor(private readonly store: Store) {
    this.history = store.events();
    this.nextSequence = (this.history.at(-1)?.sequence ?? 0) + 1;
  }

  publish(domain: { id: string; name: string }, kind: EventKind): DomainEvent {
    const event: DomainEvent = { sequence: this.nextSequence++, time: new Date(), domainId: domain.id, domainName: domain.name, kind };
    this.store.appendEvent(event, EVENT_HISTORY);
    this.history.push(event);
    if (this.history.length > EVENT_HISTORY) this.history.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Events after `after`; OUT_OF_RANGE when the history no longer reaches back that far (or `after` is ahead). */
  since(after: number): DomainEvent[] {
    const latest = this.nextSequence - 1;
    const oldest = this.history[0]?.sequence ?? this.nextSequence;
    if (after > latest) throw new ApiError(status.OUT_OF_RANGE, `after_sequence ${after} is ahead of the latest event (${latest})`);
    if (after < oldest - 1) {
      throw new ApiError(status.OUT_OF_RANGE, `after_sequence ${after} is older than the event history, which starts at ${oldest}; list domains to resynchronise`);
    }
    return this.history.filter((e) => e.sequence > after);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
