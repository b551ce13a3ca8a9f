/**
 * The CloudWatch Logs API (AWS JSON 1.1, `Logs_20140328`): log groups and streams, log
 * events, metric and subscription filters, tags. Operations live in operations.ts; the
 * CloudWatch Logs engine (src/logs) does the work.
 */
import type { Logs } from '../../logs/logs.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { logsOperations } from './operations.js';

/** What the CloudWatch Logs API needs. */
export interface LogsServiceDeps {
  logs: Logs;
}

/**
 * The CloudWatch Logs service definition.
 *
 * @example
 * const service = logsService({ logs: engine });
 */
export function logsService(deps: LogsServiceDeps): ServiceDefinition {
  return {
    modelName: 'logs',
    signingName: 'logs',
    actionPrefix: 'logs',
    eventSource: 'logs.amazonaws.com',
    model: loadModel('logs'),
    operations: logsOperations(deps.logs),
  };
}
