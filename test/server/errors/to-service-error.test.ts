import { status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fieldViolationsOf, invalidArgument, notFound, toServiceError, STATUS_DETAILS_KEY } from '../../../server/src/errors';
import { Status } from '../../../gen/google/rpc/status';
import { ResourceInfo } from '../../../gen/google/rpc/error_details';

describe('toServiceError', () => {
  it('carries BadRequest field violations in grpc-status-details-bin', () => {
    const err = toServiceError(invalidArgument([{ field: 'spec.name', description: 'required' }]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('spec.name: required');
    expect(fieldViolationsOf(err as ServiceError)).toEqual([expect.objectContaining({ field: 'spec.name', description: 'required' })]);
  });

  it('names the missing resource in ResourceInfo', () => {
    const err = toServiceError(notFound('domain', 'web1'));
    expect(err.code).toBe(status.NOT_FOUND);
    const decoded = Status.decode(err.metadata!.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(decoded.code).toBe(status.NOT_FOUND);
    const info = ResourceInfo.decode(decoded.details[0].value);
    expect(info).toMatchObject({ resourceType: 'domain', resourceName: 'web1' });
  });

  it('turns anything else into INTERNAL without losing the message', () => {
    const err = toServiceError(new Error('disk on fire'));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/disk on fire/);
  });
});
