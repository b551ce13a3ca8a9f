/**
 * The CloudTrail API (AWS JSON 1.1): the trail control plane (trails, logging, event and
 * Insights selectors, tags), served by the `Trails` engine, and the 90-day event history
 * (LookupEvents), served by the `History` engine.
 */
import type { History } from '../../history/history.js';
import type { Trails } from '../../trails/trails.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { lookupEventsOperation } from './lookup-events.js';
import { listPublicKeysOperation, type PublicKeySource } from './public-keys.js';
import { trailOperations } from './trails.js';

/** The engines the CloudTrail service calls. */
export interface CloudTrailServiceDeps {
  trails: Trails;
  history: Pick<History, 'lookup'>;
  /** The digest signing keys, for ListPublicKeys (served only when given). */
  publicKeys?: PublicKeySource;
}

/**
 * The CloudTrail service definition.
 *
 * @example
 * const cloudtrail = cloudtrailService({ trails, history });
 */
export function cloudtrailService(deps: CloudTrailServiceDeps): ServiceDefinition {
  return {
    modelName: 'cloudtrail',
    signingName: 'cloudtrail',
    actionPrefix: 'cloudtrail',
    eventSource: 'cloudtrail.amazonaws.com',
    model: loadModel('cloudtrail'),
    operations: {
      ...trailOperations(deps.trails),
      LookupEvents: lookupEventsOperation({ history: deps.history }),
      ...(deps.publicKeys ? { ListPublicKeys: listPublicKeysOperation({ keys: deps.publicKeys }) } : {}),
    },
  };
}
