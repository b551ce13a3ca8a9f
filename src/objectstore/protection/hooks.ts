/**
 * The data-protection guards installed on the object store: Object Lock (no permanent
 * deletion or shortened retention of a locked version; default retention on new
 * versions) and MFA delete (a valid root factor to delete a version or change
 * versioning). They run inside the store's metadata transaction, so what they check
 * cannot change under them, whichever path deletes (DeleteObject, DeleteObjects,
 * lifecycle).
 *
 * Guards are synchronous and see only the store's write context; what the API layer
 * learns asynchronously about the caller (is it the bucket owner's root user, may it
 * bypass governance retention, which retention did the write ask for) arrives in it.
 */
import type { Clock } from '../../platform/clock.js';
import type { ObjectStoreEngine, ObjectStoreHooks } from '../store.js';
import { checkDeletable, checkRetentionChange, defaultRetention, LOCK_ATTRIBUTES, LOCK_CONFIG, lockEnabled, lockErrors, lockState, parseStoredLock, type RetentionMode } from './lock.js';
import { requireOwnerMfa, type MfaVerifier } from './mfa.js';

export interface ProtectionHooksDeps {
  store: Pick<ObjectStoreEngine, 'bucketConfig'>;
  clock: Clock;
  mfa: MfaVerifier;
}

/**
 * The guard hooks; install with `store.use(protectionHooks(...))`.
 *
 * @example
 * store.use(protectionHooks({ store, clock, mfa: mfaDevices }));
 */
export function protectionHooks(deps: ProtectionHooksDeps): ObjectStoreHooks {
  const lockConfig = (bucket: string) => parseStoredLock(deps.store.bucketConfig(bucket, LOCK_CONFIG));
  return {
    beforeDeleteVersion({ bucket, version, reason, context }) {
      if (reason === 'delete' && bucket.mfaDelete === 'Enabled') requireOwnerMfa(deps.mfa, bucket.owner, context?.mfa, context?.isOwnerRoot === true);
      const bypass = context?.bypassGovernanceRetention === true && context.mayBypassGovernance === true;
      checkDeletable(version, deps.clock.now(), bypass);
    },

    beforeVersioningChange({ bucket, status, context }) {
      if (status === 'Suspended' && lockEnabled(bucket, lockConfig(bucket.name))) throw lockErrors.versioningLocked();
      if (bucket.mfaDelete === 'Enabled') requireOwnerMfa(deps.mfa, bucket.owner, context?.mfa, context?.isOwnerRoot === true);
    },

    beforeAttributesChange({ version, patch, context }) {
      if (!(LOCK_ATTRIBUTES.mode in patch) && !(LOCK_ATTRIBUTES.retainUntil in patch)) return;
      const mode = patch[LOCK_ATTRIBUTES.mode];
      const until = patch[LOCK_ATTRIBUTES.retainUntil];
      const next = mode !== undefined && until !== undefined ? { mode: mode as RetentionMode, retainUntil: Date.parse(until) } : undefined;
      const bypass = context?.bypassGovernanceRetention === true && context.mayBypassGovernance === true;
      checkRetentionChange(lockState(version.attributes), next, deps.clock.now(), bypass);
    },

    versionAttributes({ bucket, context }) {
      const config = lockConfig(bucket.name);
      if (!lockEnabled(bucket, config)) return undefined;
      const explicit = context?.lockAttributes;
      const retention = explicit && LOCK_ATTRIBUTES.mode in explicit ? undefined : defaultRetention(config, deps.clock.now());
      return { ...retention, ...explicit };
    },
  };
}
