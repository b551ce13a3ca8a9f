/**
 * The SNS API (AWS query protocol). Operations live in operations.ts, the unsigned
 * links SNS hands out (certificate, SubscribeURL, UnsubscribeURL) in links.ts; the SNS
 * engine (src/sns) does the work.
 */
import type { Topics } from '../../sns/topics.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { snsOperations } from './operations.js';

export { snsPublicRoute } from './links.js';

export interface SnsServiceDeps {
  topics: Topics;
}

/**
 * The SNS service definition.
 *
 * @example
 * const sns = snsService({ topics });
 */
export function snsService(deps: SnsServiceDeps): ServiceDefinition {
  return {
    modelName: 'sns',
    signingName: 'sns',
    actionPrefix: 'sns',
    eventSource: 'sns.amazonaws.com',
    model: loadModel('sns'),
    operations: snsOperations(deps.topics),
  };
}
