/**
 * CloudTrail's rules for the values a trail is configured with: trail names and ARNs, S3
 * bucket names and prefixes, SNS topics, KMS key ids, CloudWatch Logs ARNs and tags. Each
 * check throws the CloudTrail error a bad value earns; none touches storage.
 */
import type { AwsError } from '../platform/errors.js';
import { trailErrors } from './errors.js';
import type { Tag } from './store.js';

/** A trail ARN's parts. */
export interface ParsedTrailArn {
  partition: string;
  region: string;
  accountId: string;
  name: string;
}

/** `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`. */
export function trailArn(region: string, accountId: string, name: string): string {
  return `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`;
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The message CloudTrail gives for a bad trail name, or undefined when the name is valid. */
export function trailNameProblem(name: string): string | undefined {
  // The order is CloudTrail's: the first rule broken is the one reported.
  if (name.length === 0) return 'Trail name cannot be blank!';
  if (IPV4.test(name)) return 'Trail names must not be formatted as an IP address.';
  if (name.length < 3) {
    return `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`;
  }
  if (name.length > 128) {
    return `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`;
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    return 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).';
  }
  if (!/^[A-Za-z0-9]/.test(name)) return 'Trail name must starts with a letter or number.';
  if (!/[A-Za-z0-9]$/.test(name)) return 'Trail name must ends with a letter or number.';
  if (/[._-]{2}/.test(name)) return 'Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_).';
  return undefined;
}

/** Throws InvalidTrailNameException unless `name` is a valid trail name. */
export function checkTrailName(name: string): void {
  const problem = trailNameProblem(name);
  if (problem !== undefined) throw trailErrors.invalidTrailName(problem);
}

const TRAIL_ARN = /^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/** Parses a trail ARN; throws CloudTrailARNInvalidException when it is not one. */
export function parseTrailArn(arn: string): ParsedTrailArn {
  const m = TRAIL_ARN.exec(arn);
  if (!m?.[1] || !m[2] || !m[3] || !m[4] || trailNameProblem(m[4]) !== undefined) throw trailErrors.arnInvalid(arn);
  return { partition: m[1], region: m[2], accountId: m[3], name: m[4] };
}

/** Whether a value naming a trail is an ARN rather than a name. */
export function isArn(nameOrArn: string): boolean {
  return nameOrArn.startsWith('arn:');
}

const BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Throws InvalidS3BucketNameException unless `bucket` follows S3's general purpose bucket naming rules. */
export function checkBucketName(bucket: string): void {
  const ok =
    bucket.length >= 3 &&
    bucket.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !IPV4.test(bucket) &&
    !BUCKET_PREFIXES.some((p) => bucket.startsWith(p)) &&
    !BUCKET_SUFFIXES.some((s) => bucket.endsWith(s));
  if (!ok) throw trailErrors.invalidS3BucketName(bucket);
}

/** Throws InvalidS3PrefixException when the key prefix is longer than CloudTrail's 200 characters. */
export function checkS3Prefix(prefix: string): void {
  if (prefix.length > 200) {
    throw trailErrors.invalidS3Prefix(`S3 key prefix is ${prefix.length} characters long; the maximum length is 200.`);
  }
}

const SNS_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const SNS_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})$/;

/** Validates an SNS topic given by name or ARN and returns its ARN; InvalidSnsTopicNameException otherwise. */
export function snsTopicArn(topic: string, region: string, accountId: string): string {
  if (SNS_ARN.test(topic)) return topic;
  if (SNS_NAME.test(topic)) return `arn:aws:sns:${region}:${accountId}:${topic}`;
  throw trailErrors.invalidSnsTopicName(topic);
}

const KEY_ID = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;

/** A KMS key reference as CloudTrail accepts it, split into its kind. */
export type KmsKeyRef = { kind: 'key'; arn: string } | { kind: 'alias'; arn: string };

/**
 * Validates a KMS key reference (key id, key ARN, alias name, alias ARN) and returns the ARN
 * it names; aliases still need resolving to their key. InvalidKmsKeyIdException otherwise.
 */
export function kmsKeyRef(keyId: string, region: string, accountId: string): KmsKeyRef {
  if (KEY_ID.test(keyId)) return { kind: 'key', arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}` };
  if (ALIAS_NAME.test(keyId) && !keyId.startsWith('alias/aws/')) {
    return { kind: 'alias', arn: `arn:aws:kms:${region}:${accountId}:${keyId}` };
  }
  const m = KMS_ARN.exec(keyId);
  if (m?.[3]) {
    const resource = m[3];
    if (resource.startsWith('key/') && KEY_ID.test(resource.slice(4))) return { kind: 'key', arn: keyId };
    if (resource.startsWith('alias/') && ALIAS_NAME.test(resource)) return { kind: 'alias', arn: keyId };
  }
  throw trailErrors.invalidKmsKeyId(keyId);
}

const LOG_GROUP_ARN = /^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([A-Za-z0-9._\-/#]{1,512})(:\*)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/**
 * Validates the CloudWatch Logs pair: both or neither (InvalidParameterCombinationException),
 * a log group ARN in the trail's account and region, and an IAM role ARN in its account.
 */
export function checkCloudWatchLogs(
  logGroupArn: string | undefined,
  roleArn: string | undefined,
  region: string,
  accountId: string,
): void {
  if (logGroupArn === undefined && roleArn === undefined) return;
  if (logGroupArn === undefined || roleArn === undefined) {
    throw trailErrors.invalidParameterCombination(
      'You must specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.',
    );
  }
  const group = LOG_GROUP_ARN.exec(logGroupArn);
  if (!group || group[1] !== region || group[2] !== accountId) throw trailErrors.invalidLogGroupArn(logGroupArn);
  const role = ROLE_ARN.exec(roleArn);
  if (!role || role[1] !== accountId) throw trailErrors.invalidLogsRoleArn(roleArn);
}

/** At most this many tags on one trail. */
export const MAX_TAGS_PER_TRAIL = 50;

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Validates tags as submitted (keys unique, allowed characters, no `aws:` prefix); InvalidTagParameterException otherwise. */
export function checkTags(tags: readonly Tag[]): void {
  const seen = new Set<string>();
  for (const tag of tags) {
    const problem = tagProblem(tag);
    if (problem) throw problem;
    if (seen.has(tag.Key)) throw trailErrors.invalidTagParameter(`Duplicate tag key: ${tag.Key}`);
    seen.add(tag.Key);
  }
}

function tagProblem(tag: Tag): AwsError | undefined {
  if (tag.Key.length < 1 || tag.Key.length > 128 || !TAG_CHARS.test(tag.Key)) {
    return trailErrors.invalidTagParameter(`Tag key is not valid: ${tag.Key}`);
  }
  if (tag.Key.toLowerCase().startsWith('aws:')) {
    return trailErrors.invalidTagParameter(`Tag keys beginning with aws: are reserved: ${tag.Key}`);
  }
  if (tag.Value !== undefined && (tag.Value.length > 256 || !TAG_CHARS.test(tag.Value))) {
    return trailErrors.invalidTagParameter(`Tag value is not valid for key ${tag.Key}`);
  }
  return undefined;
}
