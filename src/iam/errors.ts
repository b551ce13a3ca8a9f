/**
 * The IAM and STS errors the identity engine raises, with the codes (botocore's
 * `error.code`), HTTP statuses and messages IAM returns.
 */
import { AwsError } from '../platform/errors.js';

/** Factories for IAM's own error codes. */
export const iamErrors = {
  noSuchEntity: (message: string) => new AwsError({ code: 'NoSuchEntity', message, status: 404 }),
  noSuchUser: (userName: string) => iamErrors.noSuchEntity(`The user with name ${userName} cannot be found.`),
  noSuchRole: (roleName: string) => iamErrors.noSuchEntity(`The role with name ${roleName} cannot be found.`),
  noSuchAccessKey: (accessKeyId: string) =>
    iamErrors.noSuchEntity(`The Access Key with id ${accessKeyId} cannot be found.`),
  noSuchInlinePolicy: (kind: 'user' | 'role', policyName: string) =>
    iamErrors.noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`),
  noSuchPolicy: (policyArn: string) => iamErrors.noSuchEntity(`Policy ${policyArn} was not found.`),
  notAttachable: (policyArn: string) => iamErrors.noSuchEntity(`Policy ${policyArn} does not exist or is not attachable.`),
  entityAlreadyExists: (message: string) => new AwsError({ code: 'EntityAlreadyExists', message, status: 409 }),
  deleteConflict: (message: string) => new AwsError({ code: 'DeleteConflict', message, status: 409 }),
  limitExceeded: (message: string) => new AwsError({ code: 'LimitExceeded', message, status: 409 }),
  invalidInput: (message: string) => new AwsError({ code: 'InvalidInput', message, status: 400 }),
  validation: (message: string) => new AwsError({ code: 'ValidationError', message, status: 400 }),
  malformedPolicyDocument: (message: string) => new AwsError({ code: 'MalformedPolicyDocument', message, status: 400 }),
  /** STS's refusal to issue credentials. */
  accessDenied: (message: string) => new AwsError({ code: 'AccessDenied', message, status: 403 }),
};
