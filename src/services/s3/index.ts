/**
 * The S3 API (REST-XML) over the embedded object store: buckets, objects, listings,
 * multipart uploads and versioning. Object-level calls are CloudTrail data events;
 * bucket-level calls are management events. IAM actions follow S3's names, which differ
 * from the operations' (ListObjectsV2 is s3:ListBucket, UploadPart is s3:PutObject...).
 */
import type { ObjectStoreEngine } from '../../objectstore/store.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { bucketOperations } from './buckets.js';
import { listingOperations } from './listing.js';
import { multipartOperations } from './multipart.js';
import { objectOperations } from './objects.js';

export { toPathStyle } from './addressing.js';

/** The engines the S3 service calls. */
export interface S3ServiceDeps {
  store: ObjectStoreEngine;
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
  const s3 = { store: deps.store, model };
  return {
    modelName: 's3',
    signingName: 's3',
    actionPrefix: 's3',
    eventSource: 's3.amazonaws.com',
    model,
    operations: {
      ...bucketOperations(s3),
      ...objectOperations(s3),
      ...listingOperations(s3),
      ...multipartOperations(s3),
    },
  };
}
