/**
 * The SQS API (AWS JSON 1.0, `AmazonSQS`, query-compatible errors). Operations live in
 * operations.ts; the SQS engine (src/sqs) does the work. Queue policies are the
 * operations' resource-based policy, evaluated by the pipeline with the caller's
 * identity policies.
 */
import type { Queues } from '../../sqs/queues.js';
import { SQS_QUERY_CODES } from '../../sqs/errors.js';
import { loadModel, type ServiceModel, type Shape } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { sqsOperations } from './operations.js';

export interface SqsServiceDeps {
  queues: Queues;
  /** The server's base URL, for queue URLs when a request carried no Host header. */
  endpoint: () => string;
}

let model: ServiceModel | undefined;

/**
 * The SQS model with the query API's error codes restored on its error shapes, so the
 * JSON codec sends them in `x-amzn-query-error` (botocore reports that code, e.g.
 * `AWS.SimpleQueueService.NonExistentQueue`). A copy: the shared model stays untouched.
 */
function sqsModel(): ServiceModel {
  if (model) return model;
  const base = loadModel('sqs');
  const shapes: Record<string, Shape> = { ...base.shapes };
  for (const [name, legacy] of Object.entries(SQS_QUERY_CODES)) {
    const shape = shapes[name];
    if (shape?.type === 'structure') {
      shapes[name] = { ...shape, error: { code: legacy.code, httpStatusCode: legacy.status, senderFault: true } };
    }
  }
  model = { ...base, metadata: { ...base.metadata, awsQueryCompatible: {} }, shapes };
  return model;
}

/**
 * The SQS service definition.
 *
 * @example
 * const sqs = sqsService({ queues, endpoint: () => server.endpoint });
 */
export function sqsService(deps: SqsServiceDeps): ServiceDefinition {
  return {
    modelName: 'sqs',
    signingName: 'sqs',
    actionPrefix: 'sqs',
    eventSource: 'sqs.amazonaws.com',
    model: sqsModel(),
    operations: sqsOperations(deps),
  };
}
