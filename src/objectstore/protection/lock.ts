/**
 * S3 Object Lock's rules, free of the wire: a bucket's lock configuration (default
 * retention), a version's retention and legal hold as kept in its attributes, and the
 * two decisions everything else asks for: may this version be permanently deleted, and
 * may its retention change this way. GOVERNANCE yields to a caller allowed to bypass it;
 * COMPLIANCE yields to nobody, the root user included; a legal hold blocks deletion
 * whatever the mode. Errors are S3's.
 */
import { AwsError } from '../../platform/errors.js';
import type { BucketInfo, ObjectInfo } from '../store.js';

export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

/** The bucket configuration document holding the Object Lock configuration. */
export const LOCK_CONFIG = 'object-lock';

/** Version attributes Object Lock keeps. */
export const LOCK_ATTRIBUTES = {
  mode: 'object-lock-mode',
  /** ISO 8601. */
  retainUntil: 'object-lock-retain-until',
  legalHold: 'object-lock-legal-hold',
} as const;

/** A bucket's Object Lock configuration as stored (S3's element names). */
export interface LockConfiguration {
  ObjectLockEnabled: 'Enabled';
  Rule?: { DefaultRetention: { Mode: RetentionMode; Days?: number; Years?: number } };
}

/** A version's lock state. */
export interface LockState {
  mode?: RetentionMode;
  retainUntil?: number;
  legalHold?: 'ON' | 'OFF';
}

const DAY_MS = 86_400_000;
/** S3's ceilings for a default retention period. */
const MAX_DAYS = 36_500;
const MAX_YEARS = 100;

/** Object Lock's errors, as S3 words them. */
export const lockErrors = {
  objectLocked: () => new AwsError({ code: 'AccessDenied', message: 'Access Denied because object protected by object lock.', status: 403 }),
  configurationNotFound: (bucket: string) =>
    new AwsError({
      code: 'ObjectLockConfigurationNotFoundError',
      message: 'Object Lock configuration does not exist for this bucket',
      status: 404,
      extra: { BucketName: bucket },
    }),
  noObjectConfiguration: () =>
    new AwsError({ code: 'NoSuchObjectLockConfiguration', message: 'The specified object does not have a ObjectLock configuration' }),
  /** Retention or legal hold calls on a bucket without Object Lock. */
  bucketMissingLock: () => new AwsError({ code: 'InvalidRequest', message: 'Bucket is missing Object Lock Configuration' }),
  /** Lock headers on writes to a bucket without Object Lock (S3 spells it without spaces here). */
  bucketMissingLockOnWrite: () => new AwsError({ code: 'InvalidRequest', message: 'Bucket is missing ObjectLockConfiguration' }),
  versioningNotEnabled: () =>
    new AwsError({
      code: 'InvalidBucketState',
      message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
      status: 409,
    }),
  versioningLocked: () =>
    new AwsError({
      code: 'InvalidBucketState',
      message: 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
      status: 409,
    }),
  pastRetainDate: (value: string) =>
    new AwsError({
      code: 'InvalidArgument',
      message: 'The retain until date must be in the future!',
      extra: { ArgumentName: 'x-amz-object-lock-retain-until-date', ArgumentValue: value },
    }),
  headersTogether: (missing: 'x-amz-object-lock-mode' | 'x-amz-object-lock-retain-until-date') =>
    new AwsError({
      code: 'InvalidArgument',
      message: 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.',
      extra: { ArgumentName: missing },
    }),
  checksumRequired: () =>
    new AwsError({
      code: 'InvalidRequest',
      message: 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    }),
  periodNotPositive: (name: 'Days' | 'Years', value: number) =>
    new AwsError({
      code: 'InvalidArgument',
      message: 'Default retention period must be a positive integer value.',
      extra: { ArgumentName: name, ArgumentValue: String(value) },
    }),
  periodTooLarge: (name: 'Days' | 'Years', value: number) =>
    new AwsError({ code: 'InvalidArgument', message: 'Default retention period too large.', extra: { ArgumentName: name, ArgumentValue: String(value) } }),
  malformedXml: () =>
    new AwsError({ code: 'MalformedXML', message: 'The XML you provided was not well-formed or did not validate against our published schema' }),
};

/** Reads a stored lock configuration. */
export function parseStoredLock(text: string | undefined): LockConfiguration | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as LockConfiguration);
}

/** Whether Object Lock is on for a bucket: set at creation, or by a lock configuration since. */
export function lockEnabled(bucket: BucketInfo, config: LockConfiguration | undefined): boolean {
  return bucket.objectLockEnabled || config !== undefined;
}

/**
 * Checks a PutObjectLockConfiguration document (decoded input members) and returns what
 * to store. `ObjectLockEnabled` must be `Enabled`; a rule needs a mode and exactly one of
 * Days and Years, each positive and within S3's ceilings.
 */
export function checkLockConfiguration(doc: Record<string, unknown> | undefined): LockConfiguration {
  if (!doc || doc.ObjectLockEnabled !== 'Enabled') throw lockErrors.malformedXml();
  const rule = doc.Rule as Record<string, unknown> | undefined;
  if (rule === undefined) return { ObjectLockEnabled: 'Enabled' };
  const retention = rule.DefaultRetention as Record<string, unknown> | undefined;
  if (!retention) throw lockErrors.malformedXml();
  const mode = retention.Mode;
  if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw lockErrors.malformedXml();
  const days = typeof retention.Days === 'number' ? retention.Days : undefined;
  const years = typeof retention.Years === 'number' ? retention.Years : undefined;
  if ((days === undefined) === (years === undefined)) throw lockErrors.malformedXml();
  if (days !== undefined) {
    if (days <= 0) throw lockErrors.periodNotPositive('Days', days);
    if (days > MAX_DAYS) throw lockErrors.periodTooLarge('Days', days);
    return { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: mode, Days: days } } };
  }
  const y = years ?? 0;
  if (y <= 0) throw lockErrors.periodNotPositive('Years', y);
  if (y > MAX_YEARS) throw lockErrors.periodTooLarge('Years', y);
  return { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: mode, Years: y } } };
}

/** The retention attributes a new version gets from the bucket's default rule, if any. */
export function defaultRetention(config: LockConfiguration | undefined, now: number): Record<string, string> | undefined {
  const rule = config?.Rule?.DefaultRetention;
  if (!rule) return undefined;
  const until = new Date(now);
  if (rule.Years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + rule.Years);
  else until.setTime(now + (rule.Days ?? 0) * DAY_MS);
  return { [LOCK_ATTRIBUTES.mode]: rule.Mode, [LOCK_ATTRIBUTES.retainUntil]: until.toISOString() };
}

/** Attributes for an explicit retention (and/or legal hold). */
export function retentionAttributes(retention: { mode: RetentionMode; retainUntil: number } | undefined, legalHold?: 'ON' | 'OFF'): Record<string, string> {
  return {
    ...(retention ? { [LOCK_ATTRIBUTES.mode]: retention.mode, [LOCK_ATTRIBUTES.retainUntil]: new Date(retention.retainUntil).toISOString() } : {}),
    ...(legalHold ? { [LOCK_ATTRIBUTES.legalHold]: legalHold } : {}),
  };
}

/** A version's lock state from its attributes. */
export function lockState(attributes: Record<string, string | undefined>): LockState {
  const mode = attributes[LOCK_ATTRIBUTES.mode];
  const until = attributes[LOCK_ATTRIBUTES.retainUntil];
  const hold = attributes[LOCK_ATTRIBUTES.legalHold];
  return {
    ...(mode === 'GOVERNANCE' || mode === 'COMPLIANCE' ? { mode } : {}),
    ...(until !== undefined && !Number.isNaN(Date.parse(until)) ? { retainUntil: Date.parse(until) } : {}),
    ...(hold === 'ON' || hold === 'OFF' ? { legalHold: hold } : {}),
  };
}

/** Throws unless the version may be permanently deleted now. */
export function checkDeletable(version: ObjectInfo, now: number, bypassGovernance: boolean): void {
  if (version.deleteMarker) return;
  const s = lockState(version.attributes);
  if (s.legalHold === 'ON') throw lockErrors.objectLocked();
  if (s.mode === undefined || s.retainUntil === undefined || s.retainUntil <= now) return;
  if (s.mode === 'COMPLIANCE' || !bypassGovernance) throw lockErrors.objectLocked();
}

/**
 * Throws unless a version's retention may change to `next` (undefined removes it): an
 * active retention may be extended in its mode, COMPLIANCE never shortened, removed or
 * turned into GOVERNANCE; GOVERNANCE changed otherwise (shortened, removed, made
 * COMPLIANCE) only with a bypass.
 */
export function checkRetentionChange(current: LockState, next: { mode: RetentionMode; retainUntil: number } | undefined, now: number, bypassGovernance: boolean): void {
  if (current.mode === undefined || current.retainUntil === undefined || current.retainUntil <= now) return;
  const extends_ = next !== undefined && next.mode === current.mode && next.retainUntil >= current.retainUntil;
  if (extends_) return;
  if (current.mode === 'COMPLIANCE') throw lockErrors.objectLocked();
  if (!bypassGovernance) throw lockErrors.objectLocked();
}
