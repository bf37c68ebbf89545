import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { loadApiPackage } from './api-protos';

/**
 * The standard services every hvd socket answers, so generic tools work unconfigured:
 * - grpc.health.v1.Health: "" (hvd as a whole) and each API service SERVING while hvd serves, NOT_SERVING once it
 *   begins to shut down (grpc_health_probe, Kubernetes probes);
 * - server reflection v1 and v1alpha (grpcurl, grpcui, Postman) built from the real .proto files.
 * One instance is shared by all of hvd's servers: a status change reaches watchers on every socket.
 */
export class StandardServices {
  private readonly health: HealthImplementation;
  private readonly reflection: ReflectionService;

  constructor(private readonly serviceNames: readonly string[]) {
    this.health = new HealthImplementation(statusMap(['', ...serviceNames], 'NOT_SERVING'));
    this.reflection = new ReflectionService(loadApiPackage());
  }

  addTo(server: Server): void {
    this.health.addToServer(server);
    this.reflection.addToServer(server);
  }

  /** SERVING or NOT_SERVING for hvd and each of its API services. */
  setServing(serving: boolean): void {
    const status: ServingStatus = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...this.serviceNames]) this.health.setStatus(name, status);
  }
}

function statusMap(names: readonly string[], status: ServingStatus): Record<string, ServingStatus> {
  return Object.fromEntries(names.map((n) => [n, status]));
}
