import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BadRequest, ResourceInfo } from '../../../gen/google/rpc/error_details';
import { Status } from '../../../gen/google/rpc/status';
import { ApiError } from './api-error';

const TYPE_URL_PREFIX = 'type.googleapis.com/';
/** The trailer carrying an encoded google.rpc.Status, read by every gRPC language's rich-error helpers. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** The one place errors become gRPC statuses: ApiErrors keep their code and details, anything else is INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const apiError = err instanceof ApiError ? err : undefined;
  const code = apiError?.code ?? status.INTERNAL;
  const message = apiError?.message ?? `internal error: ${err instanceof Error ? err.message : String(err)}`;
  const details = [];
  if (apiError && apiError.fieldViolations.length > 0) {
    const value = BadRequest.encode(BadRequest.fromPartial({ fieldViolations: apiError.fieldViolations })).finish();
    details.push({ typeUrl: TYPE_URL_PREFIX + 'google.rpc.BadRequest', value: Buffer.from(value) });
  }
  if (apiError?.resource) {
    const { type, name } = apiError.resource;
    const value = ResourceInfo.encode({ resourceType: type, resourceName: name, owner: '', description: message }).finish();
    details.push({ typeUrl: TYPE_URL_PREFIX + 'google.rpc.ResourceInfo', value: Buffer.from(value) });
  }
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(Status.encode({ code, message, details }).finish()));
  return { code, details: message, metadata };
}

/** Decodes the field violations of an error received by a client (used by clients and tests). */
export function fieldViolationsOf(err: ServiceError): { field: string; description: string }[] {
  const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!raw || typeof raw === 'string') return [];
  return Status.decode(raw)
    .details.filter((d) => d.typeUrl === TYPE_URL_PREFIX + 'google.rpc.BadRequest')
    .flatMap((d) => BadRequest.decode(d.value).fieldViolations);
}
