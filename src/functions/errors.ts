/** The Lambda API's errors, as Lambda spells them. */
import { AwsError } from '../platform/errors.js';

export const lambdaErrors = {
  notFound: (message: string) => new AwsError({ code: 'ResourceNotFoundException', message, status: 404, extra: { Type: 'User' } }),
  functionNotFound: (arn: string) => lambdaErrors.notFound(`Function not found: ${arn}`),
  invalidParameter: (message: string) => new AwsError({ code: 'InvalidParameterValueException', message, extra: { Type: 'User' } }),
  conflict: (message: string) => new AwsError({ code: 'ResourceConflictException', message, status: 409, extra: { Type: 'User' } }),
  inUse: (message: string) => new AwsError({ code: 'ResourceInUseException', message, extra: { Type: 'User' } }),
  preconditionFailed: (message: string) => new AwsError({ code: 'PreconditionFailedException', message, status: 412, extra: { Type: 'User' } }),
  tooManyRequests: (message: string, reason: string) =>
    new AwsError({ code: 'TooManyRequestsException', message, status: 429, extra: { Type: 'User', Reason: reason } }),
  requestTooLarge: (message: string) => new AwsError({ code: 'RequestTooLargeException', message, status: 413, extra: { Type: 'User' } }),
  invalidRequestContent: (message: string) => new AwsError({ code: 'InvalidRequestContentException', message, extra: { Type: 'User' } }),
  policyLengthExceeded: (message: string) => new AwsError({ code: 'PolicyLengthExceededException', message, extra: { Type: 'User' } }),
  codeStorageExceeded: (message: string) => new AwsError({ code: 'CodeStorageExceededException', message, extra: { Type: 'User' } }),
};
