import type { ServiceError } from '@grpc/grpc-js';
import type { DomainEvent, LifecycleEventType } from '../../gen/hypervisor/v1/events';
import type { DomainServiceClient } from '../../gen/hypervisor/v1/domain_service';
import { waitFor } from './hvd-process';

/** A WatchEvents client collecting events from a sequence on (optionally for one domain). */
export function watchEvents(client: DomainServiceClient, afterSequence = 0, domain = '') {
  const stream = client.watchEvents({ afterSequence, domain });
  const events: DomainEvent[] = [];
  let error: ServiceError | undefined;
  stream.on('data', (m: { event?: DomainEvent }) => m.event && events.push(m.event));
  stream.on('error', (e: ServiceError) => (error = e));
  return {
    events,
    error: () => error,
    until: (pred: (e: DomainEvent[]) => boolean, what: string, timeoutMs = 10_000) => waitFor(() => pred(events), timeoutMs, what),
    close: () => stream.cancel(),
  };
}

/** The lifecycle event type of an event, if it is one. */
export const lifecycleType = (e: DomainEvent): LifecycleEventType | undefined => (e.kind?.$case === 'lifecycle' ? e.kind.value.type : undefined);
