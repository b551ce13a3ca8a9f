/**
 * The CloudWatch API (`monitoring`; Smithy RPC v2 CBOR, AWS JSON 1.0 and query, chosen per
 * request): metrics and metric alarms. Operations live in operations.ts; the metrics
 * and alarms engines (src/metrics) do the work.
 */
import type { Alarms } from '../../metrics/alarms.js';
import type { Metrics } from '../../metrics/metrics.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { cloudwatchOperations } from './operations.js';

/** What the CloudWatch API needs. */
export interface CloudWatchServiceDeps {
  metrics: Metrics;
  alarms: Alarms;
}

/**
 * The CloudWatch service definition.
 *
 * @example
 * const cloudwatch = cloudwatchService({ metrics, alarms });
 */
export function cloudwatchService(deps: CloudWatchServiceDeps): ServiceDefinition {
  return {
    modelName: 'cloudwatch',
    signingName: 'monitoring',
    actionPrefix: 'cloudwatch',
    eventSource: 'monitoring.amazonaws.com',
    model: loadModel('cloudwatch'),
    operations: cloudwatchOperations(deps),
  };
}
