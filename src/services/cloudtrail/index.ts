/**
 * The CloudTrail API (AWS JSON 1.1): the trail control plane for now (trails, logging,
 * event and Insights selectors, tags), served by the `Trails` engine.
 */
import type { Trails } from '../../trails/trails.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { trailOperations } from './trails.js';

/** The engines the CloudTrail service calls. */
export interface CloudTrailServiceDeps {
  trails: Trails;
}

/**
 * The CloudTrail service definition.
 *
 * @example
 * const cloudtrail = cloudtrailService({ trails: new Trails({ store: new SqliteTrailStore(db), clock }) });
 */
export function cloudtrailService(deps: CloudTrailServiceDeps): ServiceDefinition {
  return {
    modelName: 'cloudtrail',
    signingName: 'cloudtrail',
    actionPrefix: 'cloudtrail',
    eventSource: 'cloudtrail.amazonaws.com',
    model: loadModel('cloudtrail'),
    operations: { ...trailOperations(deps.trails) },
  };
}
