/**
 * S3 data protection in the API: Object Lock (Put/GetObjectLockConfiguration,
 * Put/GetObjectRetention, Put/GetObjectLegalHold and the `x-amz-object-lock-*` headers of
 * PutObject and CopyObject), MFA delete (PutBucketVersioning's `MFADelete`) and reading
 * archived objects (RestoreObject; GetObject refused until a restore completes; HeadObject's
 * `x-amz-restore`).
 *
 * The core object and bucket operations are decorated rather than edited: a decorator
 * establishes what the guard hooks (objectstore/protection/hooks.ts) cannot learn inside
 * the store's transaction (is the caller the bucket owner's root user, does IAM allow it
 * s3:BypassGovernanceRetention, which retention did the write ask for) and registers it
 * for the request's id before the core operation runs; the hooks enforce.
 */
import { evaluate, parsePolicyDocument, type PolicyDocument } from '../../auth/policy.js';
import type { Principal } from '../../auth/principal.js';
import { s3Errors } from '../../objectstore/errors.js';
import { archiveErrors, isArchived, readable, restoreAttributes, restoreHeader, restoreState, type RestoreTier } from '../../objectstore/protection/archive.js';
import {
  checkLockConfiguration,
  LOCK_ATTRIBUTES,
  LOCK_CONFIG,
  lockEnabled,
  lockErrors,
  lockState,
  parseStoredLock,
  retentionAttributes,
  type LockConfiguration,
} from '../../objectstore/protection/lock.js';
import { requireOwnerMfa, type MfaVerifier } from '../../objectstore/protection/mfa.js';
import type { BucketInfo, ObjectInfo } from '../../objectstore/store.js';
import { authzPrincipal, globalConditionContext } from '../authz.js';
import type { CallContext, OperationSpec } from '../service.js';
import { bucketResources, objectArn, objectResources, optDate, optRecord, optStr, s3Spec, str, withCallerFacts, writeContext, type Input, type Output, type S3Deps } from './common.js';

/** What the protection operations need beyond the store. */
export interface S3ProtectionDeps {
  /** Checks root MFA codes (IAM's virtual MFA devices). */
  mfa: MfaVerifier;
  /** The caller's identity policies, for s3:BypassGovernanceRetention and the lock headers of HeadObject. */
  policies?: { identityPolicies(principal: Principal): PolicyDocument[] };
  /** A bucket's policy; read from the bucket's `policy` configuration when omitted. */
  bucketPolicy?: (bucket: string) => PolicyDocument | undefined;
  /** One restore duration for every tier (`--restore-delay`); S3's typical times when unset. */
  restoreDelayMs?: number;
}

type Deps = S3Deps & { protection: S3ProtectionDeps };

const CHECKSUM_MEMBERS = ['ContentMD5', 'ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumSHA512', 'ChecksumMD5'];

/** Whether IAM (identity policies and the bucket policy) allows the caller `action` on `resource`. */
function allowed(deps: Deps, ctx: CallContext, action: string, resource: string, bucket: BucketInfo): boolean {
  const p = deps.protection;
  const policy = p.bucketPolicy ? p.bucketPolicy(bucket.name) : storedPolicy(deps, bucket.name);
  const result = evaluate({
    principal: authzPrincipal(ctx.principal),
    action,
    resource,
    resourceAccountId: bucket.owner,
    context: globalConditionContext(ctx),
    identityPolicies: p.policies?.identityPolicies(ctx.principal) ?? [],
    ...(policy ? { resourcePolicy: policy } : {}),
  });
  return result.decision === 'Allow';
}

function storedPolicy(deps: Deps, bucket: string): PolicyDocument | undefined {
  const text = deps.store.bucketConfig(bucket, 'policy');
  if (text === undefined) return undefined;
  try {
    return parsePolicyDocument(text, 'resource');
  } catch {
    return undefined;
  }
}

function isOwnerRoot(ctx: CallContext, bucket: BucketInfo): boolean {
  return ctx.principal.type === 'Root' && ctx.principal.accountId === bucket.owner;
}

function requireBucket(deps: Deps, name: string): BucketInfo {
  const info = deps.store.bucketInfo(name);
  if (!info) throw s3Errors.noSuchBucket(name);
  return info;
}

function lockConfigOf(deps: Deps, bucket: string): LockConfiguration | undefined {
  return parseStoredLock(deps.store.bucketConfig(bucket, LOCK_CONFIG));
}

function requireLock(deps: Deps, bucket: BucketInfo): void {
  if (!lockEnabled(bucket, lockConfigOf(deps, bucket.name))) throw lockErrors.bucketMissingLock();
}

/**
 * The lock attributes a write's `x-amz-object-lock-*` headers ask for (undefined when it
 * sends none), checked as S3 checks them.
 */
function requestedLock(deps: Deps, input: Input, bucket: BucketInfo, now: number): Record<string, string> | undefined {
  const mode = optStr(input, 'ObjectLockMode');
  const until = optDate(input, 'ObjectLockRetainUntilDate');
  const hold = optStr(input, 'ObjectLockLegalHoldStatus');
  if (mode === undefined && until === undefined && hold === undefined) return undefined;
  if (!lockEnabled(bucket, lockConfigOf(deps, bucket.name))) throw lockErrors.bucketMissingLockOnWrite();
  if (mode !== undefined && until === undefined) throw lockErrors.headersTogether('x-amz-object-lock-retain-until-date');
  if (mode === undefined && until !== undefined) throw lockErrors.headersTogether('x-amz-object-lock-mode');
  if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') {
    throw s3Errors.invalidArgument('Unknown wormMode directive.', 'x-amz-object-lock-mode', mode);
  }
  if (hold !== undefined && hold !== 'ON' && hold !== 'OFF') {
    throw s3Errors.invalidArgument("Legal Hold must be either of 'ON' or 'OFF'", 'x-amz-object-lock-legal-hold', hold);
  }
  if (until !== undefined && until.getTime() <= now) throw lockErrors.pastRetainDate(until.toISOString());
  return retentionAttributes(
    mode !== undefined && until !== undefined ? { mode, retainUntil: until.getTime() } : undefined,
    hold,
  );
}

/** The lock and restore members GetObject and HeadObject report for a version. */
function protectionMembers(deps: Deps, ctx: CallContext, info: ObjectInfo): Output {
  const out: Output = {};
  if (isArchived(info)) {
    const restore = restoreHeader(restoreState(info, ctx.now));
    if (restore !== undefined) out.Restore = restore;
  }
  const s = lockState(info.attributes);
  const bucket = deps.store.bucketInfo(info.bucket);
  if (!bucket) return out;
  const arn = objectArn(info.bucket, info.key);
  // S3 reports lock state only to callers allowed to read it.
  if (s.mode !== undefined && s.retainUntil !== undefined && allowed(deps, ctx, 's3:GetObjectRetention', arn, bucket)) {
    out.ObjectLockMode = s.mode;
    out.ObjectLockRetainUntilDate = new Date(s.retainUntil);
  }
  if (s.legalHold !== undefined && allowed(deps, ctx, 's3:GetObjectLegalHold', arn, bucket)) out.ObjectLockLegalHoldStatus = s.legalHold;
  return out;
}

type Handle = OperationSpec['handle'];

function decorate(ops: Record<string, OperationSpec>, name: string, wrap: (inner: Handle) => Handle): void {
  const spec = ops[name];
  if (spec) ops[name] = { ...spec, handle: wrap(spec.handle) };
}

/**
 * The core S3 operations with data protection added, plus the protection operations.
 *
 * @example
 * operations: protectOperations({ ...bucketOperations(s3), ...objectOperations(s3) }, { ...s3, protection })
 */
export function protectOperations(core: Record<string, OperationSpec>, deps: Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const ops: Record<string, OperationSpec> = { ...core };

  const writeWithLock =
    (requireChecksum: boolean) =>
    (inner: Handle): Handle =>
    async (input, ctx) => {
      const bucket = requireBucket(deps, str(input, 'Bucket'));
      const lockAttributes = requestedLock(deps, input, bucket, ctx.now);
      if (lockAttributes && requireChecksum && !CHECKSUM_MEMBERS.some((m) => typeof input[m] === 'string')) throw lockErrors.checksumRequired();
      return inner(withCallerFacts(input, { ...(lockAttributes ? { lockAttributes } : {}) }), ctx);
    };
  decorate(ops, 'PutObject', writeWithLock(true));
  decorate(ops, 'CopyObject', writeWithLock(false));

  decorate(ops, 'DeleteObject', (inner) => async (input, ctx) => {
    const bucket = store.bucketInfo(str(input, 'Bucket'));
    if (!bucket) return inner(input, ctx);
    const bypass = input.BypassGovernanceRetention === true && allowed(deps, ctx, 's3:BypassGovernanceRetention', objectArn(bucket.name, str(input, 'Key')), bucket);
    return inner(withCallerFacts(input, { isOwnerRoot: isOwnerRoot(ctx, bucket), mayBypassGovernance: bypass }), ctx);
  });

  decorate(ops, 'DeleteObjects', (inner) => async (input, ctx) => {
    const bucket = store.bucketInfo(str(input, 'Bucket'));
    if (!bucket) return inner(input, ctx);
    const objects = (optRecord(input, 'Delete')?.Objects ?? []) as Record<string, unknown>[];
    const ownerRoot = isOwnerRoot(ctx, bucket);
    // S3 fails the whole request when MFA delete needs a factor it lacks, or gets a bad one.
    const mfaHeader = optStr(input, 'MFA');
    if (bucket.mfaDelete === 'Enabled' && (mfaHeader !== undefined || objects.some((o) => typeof o.VersionId === 'string'))) {
      requireOwnerMfa(deps.protection.mfa, bucket.owner, mfaHeader, ownerRoot);
    }
    const bypass =
      input.BypassGovernanceRetention === true &&
      objects.every((o) => allowed(deps, ctx, 's3:BypassGovernanceRetention', objectArn(bucket.name, typeof o.Key === 'string' ? o.Key : ''), bucket));
    return inner(withCallerFacts(input, { isOwnerRoot: ownerRoot, mayBypassGovernance: bypass }), ctx);
  });

  decorate(ops, 'PutBucketVersioning', (inner) => async (input, ctx) => {
    const bucket = store.bucketInfo(str(input, 'Bucket'));
    if (!bucket) return inner(input, ctx);
    const ownerRoot = isOwnerRoot(ctx, bucket);
    // Setting MFADelete at all takes the owner's root user and a valid code (S3's rule).
    if (optStr(optRecord(input, 'VersioningConfiguration') ?? {}, 'MFADelete') !== undefined) {
      requireOwnerMfa(deps.protection.mfa, bucket.owner, optStr(input, 'MFA'), ownerRoot);
    }
    return inner(withCallerFacts(input, { isOwnerRoot: ownerRoot }), ctx);
  });

  decorate(ops, 'GetObject', (inner) => async (input, ctx) => {
    const versionId = optStr(input, 'VersionId');
    const info = await store.headObject(str(input, 'Bucket'), str(input, 'Key'), versionId !== undefined ? { versionId } : {});
    if (!readable(info, ctx.now)) throw archiveErrors.notReadable(info.storageClass);
    const out = await inner(input, ctx);
    return { ...out, ...protectionMembers(deps, ctx, info) };
  });

  decorate(ops, 'HeadObject', (inner) => async (input, ctx) => {
    const out = await inner(input, ctx);
    const versionId = optStr(input, 'VersionId');
    const info = await store.headObject(str(input, 'Bucket'), str(input, 'Key'), versionId !== undefined ? { versionId } : {});
    return { ...out, ...protectionMembers(deps, ctx, info) };
  });

  return { ...ops, ...protectionOperations(deps) };
}

/** The Object Lock and restore operations. */
function protectionOperations(deps: Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const data = { category: 'Data' as const, ...objectResources(deps) };
  const versionOf = (input: Input): { versionId?: string } => {
    const v = optStr(input, 'VersionId');
    return v !== undefined ? { versionId: v } : {};
  };

  return {
    PutObjectLockConfiguration: s3Spec(deps, 'PutObjectLockConfiguration', {
      readOnly: false,
      category: 'Management',
      action: 's3:PutBucketObjectLockConfiguration',
      ...bucketResources(deps),
      handle: async (input) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        const config = checkLockConfiguration(optRecord(input, 'ObjectLockConfiguration'));
        // Object Lock can be turned on for an existing bucket once versioning is enabled.
        if (bucket.versioning !== 'Enabled') throw lockErrors.versioningNotEnabled();
        await store.putBucketConfig(bucket.name, LOCK_CONFIG, JSON.stringify(config));
        return {};
      },
    }),

    GetObjectLockConfiguration: s3Spec(deps, 'GetObjectLockConfiguration', {
      readOnly: true,
      category: 'Management',
      action: 's3:GetBucketObjectLockConfiguration',
      ...bucketResources(deps),
      handle: async (input) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        const config = lockConfigOf(deps, bucket.name);
        if (!lockEnabled(bucket, config)) throw lockErrors.configurationNotFound(bucket.name);
        return { ObjectLockConfiguration: config ?? { ObjectLockEnabled: 'Enabled' } };
      },
    }),

    PutObjectRetention: s3Spec(deps, 'PutObjectRetention', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        requireLock(deps, bucket);
        const retention = optRecord(input, 'Retention') ?? {};
        const mode = optStr(retention, 'Mode');
        const until = optDate(retention, 'RetainUntilDate');
        if ((mode === undefined) !== (until === undefined)) throw lockErrors.malformedXml();
        if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw lockErrors.malformedXml();
        if (until !== undefined && until.getTime() <= ctx.now) throw lockErrors.pastRetainDate(until.toISOString());
        const key = str(input, 'Key');
        const bypass = input.BypassGovernanceRetention === true && allowed(deps, ctx, 's3:BypassGovernanceRetention', objectArn(bucket.name, key), bucket);
        const patch =
          mode !== undefined && until !== undefined
            ? retentionAttributes({ mode, retainUntil: until.getTime() })
            : { [LOCK_ATTRIBUTES.mode]: undefined, [LOCK_ATTRIBUTES.retainUntil]: undefined };
        await store.updateObjectAttributes(bucket.name, key, versionOf(input).versionId, patch, {
          ...writeContext(ctx, input),
          mayBypassGovernance: bypass,
        });
        return {};
      },
    }),

    GetObjectRetention: s3Spec(deps, 'GetObjectRetention', {
      readOnly: true,
      ...data,
      handle: async (input) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        requireLock(deps, bucket);
        const info = await store.headObject(bucket.name, str(input, 'Key'), versionOf(input));
        const s = lockState(info.attributes);
        if (s.mode === undefined || s.retainUntil === undefined) throw lockErrors.noObjectConfiguration();
        return { Retention: { Mode: s.mode, RetainUntilDate: new Date(s.retainUntil) } };
      },
    }),

    PutObjectLegalHold: s3Spec(deps, 'PutObjectLegalHold', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        requireLock(deps, bucket);
        const status = optStr(optRecord(input, 'LegalHold') ?? {}, 'Status');
        if (status !== 'ON' && status !== 'OFF') throw lockErrors.malformedXml();
        await store.updateObjectAttributes(bucket.name, str(input, 'Key'), versionOf(input).versionId, { [LOCK_ATTRIBUTES.legalHold]: status }, writeContext(ctx, input));
        return {};
      },
    }),

    GetObjectLegalHold: s3Spec(deps, 'GetObjectLegalHold', {
      readOnly: true,
      ...data,
      handle: async (input) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        requireLock(deps, bucket);
        const info = await store.headObject(bucket.name, str(input, 'Key'), versionOf(input));
        const hold = lockState(info.attributes).legalHold;
        if (hold === undefined) throw lockErrors.noObjectConfiguration();
        return { LegalHold: { Status: hold } };
      },
    }),

    RestoreObject: s3Spec(deps, 'RestoreObject', {
      readOnly: false,
      ...data,
      handle: async (input, ctx) => {
        const bucket = requireBucket(deps, str(input, 'Bucket'));
        const info = await store.headObject(bucket.name, str(input, 'Key'), versionOf(input));
        if (!isArchived(info)) throw archiveErrors.notArchived(info.storageClass);
        const request = optRecord(input, 'RestoreRequest') ?? {};
        const days = request.Days;
        if (typeof days !== 'number' || !Number.isInteger(days) || days < 1) throw lockErrors.malformedXml();
        const tierText = optStr(optRecord(request, 'GlacierJobParameters') ?? {}, 'Tier') ?? optStr(request, 'Tier') ?? 'Standard';
        if (tierText !== 'Standard' && tierText !== 'Bulk' && tierText !== 'Expedited') throw lockErrors.malformedXml();
        const tier: RestoreTier = tierText;
        if (tier === 'Expedited' && info.storageClass === 'DEEP_ARCHIVE') throw archiveErrors.expeditedDeepArchive();
        const { attributes, alreadyRestored } = restoreAttributes(info, ctx.now, days, tier, deps.protection.restoreDelayMs);
        // Extending a restored copy's days starts no restore, so notifies nothing.
        await store.updateObjectAttributes(bucket.name, info.key, info.versionId, attributes, {
          ...writeContext(ctx, input),
          ...(alreadyRestored ? {} : { notify: 'ObjectRestore:Post' as const }),
        });
        return {};
      },
    }),
  };
}
