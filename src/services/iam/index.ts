/**
 * The IAM API (query protocol, global: recorded in us-east-1): users, access keys,
 * roles, inline and customer-managed policies, virtual MFA devices. Operations live in users.ts, roles.ts
 * and policies.ts; the identity engine (src/iam) does the work.
 */
import type { Identities } from '../../iam/identities.js';
import type { MfaDevices } from '../../iam/mfa.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import { mfaOperations } from './mfa.js';
import { policyOperations } from './policies.js';
import { roleOperations } from './roles.js';
import { userOperations } from './users.js';

export interface IamServiceDeps {
  identities: Identities;
  /** Virtual MFA devices; the MFA operations are served when given. */
  mfa?: MfaDevices;
}

/**
 * The IAM service definition.
 *
 * @example
 * const iam = iamService({ identities });
 */
export function iamService(deps: IamServiceDeps): ServiceDefinition {
  return {
    modelName: 'iam',
    signingName: 'iam',
    actionPrefix: 'iam',
    eventSource: 'iam.amazonaws.com',
    globalRegion: 'us-east-1',
    model: loadModel('iam'),
    operations: {
      ...userOperations(deps.identities),
      ...roleOperations(deps.identities),
      ...policyOperations(deps.identities),
      ...(deps.mfa ? mfaOperations(deps.identities, deps.mfa) : {}),
    },
  };
}
