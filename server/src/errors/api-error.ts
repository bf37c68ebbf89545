import { status } from '@grpc/grpc-js';

/** One bad field of a request, named by its proto path (e.g. "spec.memory.current_bytes"). */
export interface FieldViolation {
  field: string;
  description: string;
}

/** The resource an error is about (google.rpc.ResourceInfo). */
export interface ResourceRef {
  type: string;
  name: string;
}

/** An error meant for the API client: a canonical code, a message, and the rich details of google.rpc. */
export class ApiError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly fieldViolations: FieldViolation[] = [],
    readonly resource?: ResourceRef,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function invalidArgument(violations: FieldViolation[]): ApiError {
  const message = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new ApiError(status.INVALID_ARGUMENT, message, violations);
}

export function invalidField(field: string, description: string): ApiError {
  return invalidArgument([{ field, description }]);
}

export function notFound(type: string, name: string): ApiError {
  return new ApiError(status.NOT_FOUND, `${type} "${name}" not found`, [], { type, name });
}

export function alreadyExists(type: string, name: string, message: string): ApiError {
  return new ApiError(status.ALREADY_EXISTS, message, [], { type, name });
}

export function failedPrecondition(message: string): ApiError {
  return new ApiError(status.FAILED_PRECONDITION, message);
}

export function resourceExhausted(message: string): ApiError {
  return new ApiError(status.RESOURCE_EXHAUSTED, message);
}

export function unimplemented(what: string): ApiError {
  return new ApiError(status.UNIMPLEMENTED, `${what} is not implemented yet`);
}

export function unavailable(message: string): ApiError {
  return new ApiError(status.UNAVAILABLE, message);
}
