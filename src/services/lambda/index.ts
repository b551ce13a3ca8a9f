/**
 * The Lambda API (REST-JSON, signing name `lambda`): functions, versions, aliases,
 * permissions, tags, concurrency, Invoke and SQS event source mappings. The engines in
 * src/functions do the work; every call is recorded under Lambda's CloudTrail names
 * (`CreateFunction20150331`...), and Invoke as a data event on `AWS::Lambda::Function`.
 */
import type { EventSourceMappings } from '../../functions/mappings.js';
import type { Functions } from '../../functions/functions.js';
import type { Invoker } from '../../functions/invoker.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { lambdaOperations } from './operations.js';

export interface LambdaServiceDeps {
  functions: Functions;
  invoker: Invoker;
  mappings: EventSourceMappings;
}

/**
 * The Lambda service definition.
 *
 * @example
 * const lambda = lambdaService({ functions, invoker, mappings });
 */
export function lambdaService(deps: LambdaServiceDeps): ServiceDefinition {
  return {
    modelName: 'lambda',
    signingName: 'lambda',
    actionPrefix: 'lambda',
    eventSource: 'lambda.amazonaws.com',
    model: loadModel('lambda'),
    operations: lambdaOperations(deps),
  };
}
