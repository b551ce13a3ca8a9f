/**
 * S3's bucket-level operations (management events): CreateBucket, DeleteBucket,
 * HeadBucket, ListBuckets, GetBucketLocation, and versioning configuration.
 */
import { s3Errors } from '../../objectstore/errors.js';
import { AwsError } from '../../platform/errors.js';
import type { OperationSpec } from '../service.js';
import { bucketResources, optNum, optRecord, optStr, owner, s3Spec, str, writeContext, type S3Deps } from './common.js';

/** The bucket-level operations. */
export function bucketOperations(deps: S3Deps): Record<string, OperationSpec> {
  const { store } = deps;
  return {
    CreateBucket: s3Spec(deps, 'CreateBucket', {
      readOnly: false,
      category: 'Management',
      ...bucketResources(deps),
      handle: async (input, ctx) => {
        const bucket = str(input, 'Bucket');
        const constraint = optStr(optRecord(input, 'CreateBucketConfiguration') ?? {}, 'LocationConstraint');
        // S3's rules: us-east-1 takes no constraint; every other region must name itself.
        if (constraint === 'us-east-1') throw s3Errors.invalidLocationConstraint(constraint);
        const region = constraint ?? 'us-east-1';
        if (region !== ctx.region) throw s3Errors.illegalLocationConstraint(constraint);
        const existing = store.bucketInfo(bucket);
        // Legacy behaviour kept by S3 in us-east-1: re-creating your own bucket succeeds.
        if (existing && existing.owner === ctx.accountId && ctx.region === 'us-east-1' && existing.region === 'us-east-1') {
          return { Location: `/${bucket}` };
        }
        await store.createBucket(bucket, {
          owner: ctx.accountId,
          region,
          objectLockEnabled: input.ObjectLockEnabledForBucket === true,
        });
        return { Location: `/${bucket}`, BucketArn: `arn:aws:s3:::${bucket}` };
      },
    }),

    DeleteBucket: s3Spec(deps, 'DeleteBucket', {
      readOnly: false,
      category: 'Management',
      ...bucketResources(deps),
      handle: async (input) => {
        await store.deleteBucket(str(input, 'Bucket'));
        return {};
      },
    }),

    HeadBucket: s3Spec(deps, 'HeadBucket', {
      readOnly: true,
      category: 'Management',
      action: 's3:ListBucket',
      ...bucketResources(deps),
      handle: async (input) => {
        const bucket = str(input, 'Bucket');
        const info = store.bucketInfo(bucket);
        if (!info) throw s3Errors.noSuchBucket(bucket);
        return { BucketRegion: info.region };
      },
    }),

    ListBuckets: s3Spec(deps, 'ListBuckets', {
      readOnly: true,
      category: 'Management',
      action: 's3:ListAllMyBuckets',
      handle: async (input, ctx) => {
        const prefix = optStr(input, 'Prefix') ?? '';
        const region = optStr(input, 'BucketRegion');
        const max = optNum(input, 'MaxBuckets');
        const token = optStr(input, 'ContinuationToken');
        const after = token ? Buffer.from(token, 'base64').toString('utf8') : '';
        const all = (await store.listBuckets(ctx.accountId)).filter(
          (b) => b.name.startsWith(prefix) && (region === undefined || b.region === region) && b.name > after,
        );
        if (max !== undefined && (max < 1 || max > 10000)) {
          throw s3Errors.invalidArgument('Argument max-buckets must be an integer between 1 and 10000', 'max-buckets', String(max));
        }
        const page = max === undefined ? all : all.slice(0, max);
        const last = page[page.length - 1];
        return {
          Buckets: page.map((b) => ({ Name: b.name, CreationDate: new Date(b.createdAt), BucketRegion: b.region })),
          Owner: owner(ctx.accountId),
          ...(prefix ? { Prefix: prefix } : {}),
          ...(last && page.length < all.length ? { ContinuationToken: Buffer.from(last.name).toString('base64') } : {}),
        };
      },
    }),

    GetBucketLocation: s3Spec(deps, 'GetBucketLocation', {
      readOnly: true,
      category: 'Management',
      action: 's3:GetBucketLocation',
      ...bucketResources(deps),
      handle: async (input) => {
        const bucket = str(input, 'Bucket');
        const info = store.bucketInfo(bucket);
        if (!info) throw s3Errors.noSuchBucket(bucket);
        // us-east-1 is the empty constraint.
        return info.region === 'us-east-1' ? {} : { LocationConstraint: info.region };
      },
    }),

    PutBucketVersioning: s3Spec(deps, 'PutBucketVersioning', {
      readOnly: false,
      category: 'Management',
      ...bucketResources(deps),
      handle: async (input, ctx) => {
        const config = optRecord(input, 'VersioningConfiguration') ?? {};
        const status = optStr(config, 'Status');
        const mfaDelete = optStr(config, 'MFADelete');
        if (status !== 'Enabled' && status !== 'Suspended') throw s3Errors.malformedXml();
        if (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled') throw s3Errors.malformedXml();
        const info = store.bucketInfo(str(input, 'Bucket'));
        if (info?.objectLockEnabled && status === 'Suspended') {
          throw new AwsError({
            code: 'InvalidBucketState',
            message: 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
            status: 409,
          });
        }
        await store.putBucketVersioning(str(input, 'Bucket'), status, mfaDelete, writeContext(ctx, input));
        return {};
      },
    }),

    GetBucketVersioning: s3Spec(deps, 'GetBucketVersioning', {
      readOnly: true,
      category: 'Management',
      ...bucketResources(deps),
      handle: async (input) => {
        const bucket = str(input, 'Bucket');
        const info = store.bucketInfo(bucket);
        if (!info) throw s3Errors.noSuchBucket(bucket);
        return {
          ...(info.versioning !== 'Unversioned' ? { Status: info.versioning } : {}),
          ...(info.mfaDelete ? { MFADelete: info.mfaDelete } : {}),
        };
      },
    }),
  };
}
