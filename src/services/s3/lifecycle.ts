/**
 * S3 lifecycle configuration operations (management events): Put-, Get- and
 * DeleteBucketLifecycleConfiguration. Rules are checked by the lifecycle engine's reader
 * (objectstore/protection/lifecycle.ts) and stored as the bucket's `lifecycle`
 * configuration; the engine applies them as time passes.
 */
import { s3Errors } from '../../objectstore/errors.js';
import { checkLifecycleConfiguration, LIFECYCLE_CONFIG, lifecycleErrors, storedToOutput, type StoredLifecycle } from '../../objectstore/protection/lifecycle.js';
import type { OperationSpec } from '../service.js';
import { bucketResources, optRecord, optStr, s3Spec, str, type S3Deps } from './common.js';

/** The lifecycle configuration operations. */
export function lifecycleOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  const management = { category: 'Management' as const, ...bucketResources(deps) };
  const requireBucket = (name: string) => {
    const info = store.bucketInfo(name);
    if (!info) throw s3Errors.noSuchBucket(name);
    return info;
  };
  return {
    PutBucketLifecycleConfiguration: s3Spec(deps, 'PutBucketLifecycleConfiguration', {
      readOnly: false,
      action: 's3:PutLifecycleConfiguration',
      ...management,
      handle: async (input) => {
        const bucket = requireBucket(str(input, 'Bucket'));
        const stored = checkLifecycleConfiguration(optRecord(input, 'LifecycleConfiguration'), optStr(input, 'TransitionDefaultMinimumObjectSize'));
        await store.putBucketConfig(bucket.name, LIFECYCLE_CONFIG, JSON.stringify(stored));
        return { TransitionDefaultMinimumObjectSize: stored.TransitionDefaultMinimumObjectSize };
      },
    }),

    GetBucketLifecycleConfiguration: s3Spec(deps, 'GetBucketLifecycleConfiguration', {
      readOnly: true,
      action: 's3:GetLifecycleConfiguration',
      ...management,
      handle: async (input) => {
        const bucket = requireBucket(str(input, 'Bucket'));
        const text = store.bucketConfig(bucket.name, LIFECYCLE_CONFIG);
        if (text === undefined) throw lifecycleErrors.notFound(bucket.name);
        return storedToOutput(JSON.parse(text) as StoredLifecycle);
      },
    }),

    DeleteBucketLifecycle: s3Spec(deps, 'DeleteBucketLifecycle', {
      readOnly: false,
      action: 's3:PutLifecycleConfiguration',
      ...management,
      handle: async (input) => {
        const bucket = requireBucket(str(input, 'Bucket'));
        await store.putBucketConfig(bucket.name, LIFECYCLE_CONFIG, undefined);
        return {};
      },
    }),
  };
}
