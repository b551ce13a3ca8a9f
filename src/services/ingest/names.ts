/** The ingestion API's names on the wire, shared by the service and `cairn ingest`. */

/** The SigV4 signing name and IAM action prefix of the ingestion API. */
export const INGEST_SIGNING_NAME = 'cairn';
/** The `X-Amz-Target` prefix: `CairnIngest_20261201.IngestEvents`. */
export const INGEST_TARGET_PREFIX = 'CairnIngest_20261201';
