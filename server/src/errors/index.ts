export * from './api-error';
export { toServiceError, fieldViolationsOf, STATUS_DETAILS_KEY } from './to-service-error';
