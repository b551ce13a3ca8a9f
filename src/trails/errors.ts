/**
 * The CloudTrail errors the trail control plane returns, one factory per code. Messages
 * follow what CloudTrail prints where it is known (trail names, unknown trails, the trail
 * quota, the multi-region/global-events combination); the others are written in its style.
 */
import { AwsError } from '../platform/errors.js';

function error(code: string, message: string): AwsError {
  return new AwsError({ code, message });
}

/** Factories for CloudTrail's trail errors. */
export const trailErrors = {
  invalidTrailName: (message: string) => error('InvalidTrailNameException', message),
  trailNotFound: (nameOrArn: string, accountId: string) =>
    error('TrailNotFoundException', `Unknown trail: ${nameOrArn} for the user: ${accountId}`),
  trailAlreadyExists: (name: string, accountId: string) =>
    error('TrailAlreadyExistsException', `Trail ${name} already exists for customer: ${accountId}`),
  maximumTrails: (accountId: string, region: string, limit: number) =>
    error('MaximumNumberOfTrailsExceededException', `User: ${accountId} already has ${limit} trails in ${region}.`),
  arnInvalid: (arn: string) => error('CloudTrailARNInvalidException', `Invalid CloudTrail ARN: ${arn}`),
  invalidHomeRegion: (homeRegion: string, region: string) =>
    error(
      'InvalidHomeRegionException',
      `This operation must be called from the trail's home region (${homeRegion}), not from ${region}.`,
    ),
  invalidS3BucketName: (bucket: string) => error('InvalidS3BucketNameException', `Bucket name is not valid: ${bucket}`),
  s3BucketDoesNotExist: (bucket: string) => error('S3BucketDoesNotExistException', `S3 bucket ${bucket} does not exist!`),
  insufficientS3BucketPolicy: (bucket: string) =>
    error('InsufficientS3BucketPolicyException', `Incorrect S3 bucket policy is detected for bucket: ${bucket}`),
  insufficientEncryptionPolicy: (bucket: string, keyArn: string) =>
    error('InsufficientEncryptionPolicyException', `Insufficient permissions to access S3 bucket ${bucket} or KMS key ${keyArn}.`),
  invalidS3Prefix: (message: string) => error('InvalidS3PrefixException', message),
  invalidSnsTopicName: (topic: string) => error('InvalidSnsTopicNameException', `SNS topic name is not valid: ${topic}`),
  insufficientSnsTopicPolicy: () =>
    error('InsufficientSnsTopicPolicyException', 'SNS Topic does not exist or the topic policy is incorrect!'),
  invalidKmsKeyId: (keyId: string) => error('InvalidKmsKeyIdException', `KMS key ID is not valid: ${keyId}`),
  kmsKeyNotFound: (keyId: string) => error('KmsKeyNotFoundException', `KMS key ${keyId} does not exist.`),
  invalidLogGroupArn: (arn: string) =>
    error('InvalidCloudWatchLogsLogGroupArnException', `CloudWatch Logs log group ARN is not valid: ${arn}`),
  invalidLogsRoleArn: (arn: string) =>
    error('InvalidCloudWatchLogsRoleArnException', `CloudWatch Logs role ARN is not valid: ${arn}`),
  invalidParameterCombination: (message: string) => error('InvalidParameterCombinationException', message),
  invalidParameter: (message: string) => error('InvalidParameterException', message),
  invalidEventSelectors: (message: string) => error('InvalidEventSelectorsException', message),
  invalidInsightSelectors: (message: string) => error('InvalidInsightSelectorsException', message),
  insightNotEnabled: (trailArn: string) =>
    error('InsightNotEnabledException', `Trail ${trailArn} does not have Insights enabled.`),
  organizationsNotInUse: () =>
    error(
      'OrganizationsNotInUseException',
      'This account is not a member of an organization. Only the management account of an organization can create an organization trail.',
    ),
  notOrganizationMasterAccount: (accountId: string) =>
    error(
      'NotOrganizationMasterAccountException',
      `Account ${accountId} is not the management account of its organization; only the management account can create or update an organization trail.`,
    ),
  tagsLimitExceeded: (limit: number) =>
    error('TagsLimitExceededException', `The number of tags on the resource would exceed the limit of ${limit}.`),
  invalidTagParameter: (message: string) => error('InvalidTagParameterException', message),
  resourceNotFound: (arn: string) => error('ResourceNotFoundException', `Resource not found: ${arn}`),
  invalidNextToken: () => error('InvalidNextTokenException', 'Invalid NextToken.'),
};
