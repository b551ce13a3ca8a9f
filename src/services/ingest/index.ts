/**
 * Cairn's ingestion API: one operation, `IngestEvents`, that appends CloudTrail records
 * from outside (a gateway in front of a team's own platform, a replay of exported logs) to
 * the caller's account event log. AWS has no such API, so its model is written here, in
 * botocore's form, and served like every AWS API: AWS JSON 1.1, SigV4 with the signing
 * name `cairn`, IAM action `cairn:IngestEvents`, and the call itself recorded (without the
 * records it carried). The body is a CloudTrail log file's own shape, `{"Records":[...]}`.
 * docs/ingest.md documents the wire format for gateways.
 */
import { principalArn } from '../../auth/principal.js';
import { MAX_BATCH_RECORDS } from '../../lake/ingest-records.js';
import type { Ingestion } from '../../lake/ingestion.js';
import type { ServiceModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';

import { INGEST_SIGNING_NAME, INGEST_TARGET_PREFIX } from './names.js';

const model: ServiceModel = {
  metadata: {
    apiVersion: '2026-12-01',
    endpointPrefix: 'cairn',
    jsonVersion: '1.1',
    protocol: 'json',
    serviceId: 'Cairn Ingest',
    signingName: INGEST_SIGNING_NAME,
    targetPrefix: INGEST_TARGET_PREFIX,
  },
  operations: {
    IngestEvents: {
      name: 'IngestEvents',
      http: { method: 'POST', requestUri: '/' },
      input: { shape: 'IngestEventsRequest' },
      output: { shape: 'IngestEventsResponse' },
    },
  },
  shapes: {
    IngestEventsRequest: { type: 'structure', required: ['Records'], members: { Records: { shape: 'Records' } } },
    Records: { type: 'list', member: { shape: 'Record' }, min: 1, max: MAX_BATCH_RECORDS },
    Record: { type: 'structure', members: {}, document: true },
    IngestEventsResponse: {
      type: 'structure',
      members: { Ingested: { shape: 'Count' }, Duplicates: { shape: 'Count' }, Failed: { shape: 'Failures' } },
    },
    Count: { type: 'integer' },
    Failures: { type: 'list', member: { shape: 'Failure' } },
    Failure: {
      type: 'structure',
      members: {
        Index: { shape: 'Count' },
        EventID: { shape: 'Text' },
        ErrorCode: { shape: 'Text' },
        ErrorMessage: { shape: 'Text' },
      },
    },
    Text: { type: 'string' },
  },
};

/**
 * The ingestion service definition.
 *
 * @example
 * const ingest = ingestService({ ingestion });
 */
export function ingestService(deps: { ingestion: Pick<Ingestion, 'ingest'> }): ServiceDefinition {
  return {
    modelName: 'cairn-ingest',
    signingName: INGEST_SIGNING_NAME,
    actionPrefix: INGEST_SIGNING_NAME,
    eventSource: 'cairn.amazonaws.com',
    model,
    operations: {
      IngestEvents: {
        readOnly: false,
        category: 'Management',
        handle: async (input, ctx) => {
          const records = Array.isArray(input.Records) ? (input.Records as unknown[]) : [];
          const result = await deps.ingestion.ingest(records, { accountId: ctx.accountId, callerArn: principalArn(ctx.principal), now: ctx.now });
          return {
            Ingested: result.ingested,
            Duplicates: result.duplicates,
            Failed: result.failed.map((f) => ({
              Index: f.index,
              ...(f.eventID !== undefined ? { EventID: f.eventID } : {}),
              ErrorCode: f.errorCode,
              ErrorMessage: f.errorMessage,
            })),
          };
        },
        // The records are events of their own; the call's record says how many there were.
        recordRequest: (input) => ({ recordCount: Array.isArray(input.Records) ? input.Records.length : 0 }),
        recordResponse: (output) => ({
          ingested: output.Ingested,
          duplicates: output.Duplicates,
          failed: Array.isArray(output.Failed) ? output.Failed.length : 0,
        }),
      },
    },
  };
}
