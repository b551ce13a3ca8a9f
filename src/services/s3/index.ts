/**
 * The S3 API (REST-XML) over the embedded object store: buckets, objects, listings,
 * multipart uploads and versioning. Object-level calls are CloudTrail data events;
 * bucket-level calls are management events. IAM actions follow S3's names, which differ
 * from the operations' (ListObjectsV2 is s3:ListBucket, UploadPart is s3:PutObject...).
 * Every operation is authorized with its bucket's policy and S3's condition keys (access.ts).
 */
import type { Kms } from '../../kms/kms.js';
import type { PrincipalExists } from '../../objectstore/access/policy.js';
import type { ObjectStoreEngine } from '../../objectstore/store.js';
import { loadModel } from '../../wire/model.js';
import type { IdentityPolicySource } from '../kms/authz.js';
import type { OperationSpec, ServiceDefinition } from '../service.js';
import { accessOperations, BucketAccess, withBucketDefaults } from './access.js';
import { bucketOperations } from './buckets.js';
import { encryptionOperations } from './encryption.js';
import { lifecycleOperations } from './lifecycle.js';
import { listingOperations } from './listing.js';
import { multipartOperations } from './multipart.js';
import { notificationOperations, type NotificationValidator } from './notifications.js';
import { objectOperations } from './objects.js';
import { protectOperations, type S3ProtectionDeps } from './protection.js';

export { toPathStyle } from './addressing.js';

/** The engines the S3 service calls. */
export interface S3ServiceDeps {
  store: ObjectStoreEngine;
  /** SSE-KMS; without it, only SSE-S3 is offered. */
  kms?: Kms;
  /** The callers' identity policies, which KMS key policies delegate to. */
  policies?: IdentityPolicySource;
  /** Whether a user or role a bucket policy names exists. */
  principalExists?: PrincipalExists;
  /** Object Lock, MFA delete and archive restores (protection.ts); the guard hooks must be installed on `store`. */
  protection?: S3ProtectionDeps;
  /** Event notifications' destination checks and test events; without it, destinations are refused. */
  notifications?: NotificationValidator;
}

/**
 * Gives every operation the bucket policy and S3's condition keys for the pipeline to
 * evaluate, keeping any an operation declares itself.
 */
function withAccessControl(access: BucketAccess, operations: Record<string, OperationSpec>): Record<string, OperationSpec> {
  const out: Record<string, OperationSpec> = {};
  for (const [name, spec] of Object.entries(operations)) {
    const own = spec.conditionKeys;
    out[name] = {
      ...spec,
      resourcePolicy: spec.resourcePolicy ?? ((input, ctx) => access.resourcePolicy(name, input, ctx)),
      conditionKeys: (input, ctx) => ({ ...access.conditionKeys(input, ctx), ...own?.(input, ctx) }),
    };
  }
  return out;
}

/** The operations with Object Lock, MFA delete and archive handling added, when configured. */
function withProtection(
  protection: S3ProtectionDeps | undefined,
  s3: Parameters<typeof lifecycleOperations>[0],
  operations: Record<string, OperationSpec>,
): Record<string, OperationSpec> {
  return protection ? protectOperations(operations, { ...s3, protection }) : operations;
}

/**
 * The S3 service definition.
 *
 * @example
 * const store = await EmbeddedObjectStore.open({ dir: join(dataDir, 'objects'), clock, random });
 * const s3 = s3Service({ store });
 */
export function s3Service(deps: S3ServiceDeps): ServiceDefinition {
  const model = loadModel('s3');
  const s3 = {
    store: deps.store,
    model,
    ...(deps.kms ? { kms: deps.kms } : {}),
    ...(deps.policies ? { policies: deps.policies } : {}),
    ...(deps.principalExists ? { principalExists: deps.principalExists } : {}),
  };
  const access = new BucketAccess(s3);
  const buckets = bucketOperations(s3);
  return {
    modelName: 's3',
    signingName: 's3',
    actionPrefix: 's3',
    eventSource: 's3.amazonaws.com',
    model,
    operations: withAccessControl(access, withProtection(deps.protection, s3, {
      ...buckets,
      ...(buckets.CreateBucket ? { CreateBucket: withBucketDefaults(s3, access, buckets.CreateBucket) } : {}),
      ...objectOperations(s3),
      ...listingOperations(s3),
      ...multipartOperations(s3),
      ...accessOperations(s3, access),
      ...encryptionOperations(s3),
      ...notificationOperations({ ...s3, ...(deps.notifications ? { notifications: deps.notifications } : {}) }),
      ...lifecycleOperations(s3),
    })),
  };
}
