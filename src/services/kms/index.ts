/**
 * The KMS API (AWS JSON 1.1, `TrentService`): symmetric keys, key policies, aliases and
 * the cryptographic operations. Operations live in keys.ts and crypto.ts; the KMS
 * engine (src/kms) does the work. Calls on a key are authorized against its key policy
 * inside the operation (authz.ts), since the pipeline knows only identity policies.
 */
import type { Kms } from '../../kms/kms.js';
import { loadModel } from '../../wire/model.js';
import type { ServiceDefinition } from '../service.js';
import type { IdentityPolicySource } from './authz.js';
import { cryptoOperations } from './crypto.js';
import { keyOperations } from './keys.js';

export interface KmsServiceDeps {
  kms: Kms;
  /** The callers' identity policies, for key policies that delegate to IAM. */
  policies: IdentityPolicySource;
}

/**
 * The KMS service definition.
 *
 * @example
 * const kms = kmsService({ kms: engine, policies: identities });
 */
export function kmsService(deps: KmsServiceDeps): ServiceDefinition {
  return {
    modelName: 'kms',
    signingName: 'kms',
    actionPrefix: 'kms',
    eventSource: 'kms.amazonaws.com',
    model: loadModel('kms'),
    operations: {
      ...keyOperations(deps.kms, deps.policies),
      ...cryptoOperations(deps.kms, deps.policies),
    },
  };
}
