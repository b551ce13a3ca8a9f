/**
 * The data-protection guards installed on the object store: Object Lock (no permanent
 * deletion or shortened retention of a locked version; default retention on new
 * versions) and MFA delete (a valid root factor to delete a version or change
 * versioning). They run inside the store's metadata transaction, so what they check
 * cannot change under them, whichever path deletes (DeleteObject, DeleteObjects,
 * lifecycle).
 *
 * Guards are synchronous and see only the store's {@link WriteContext}; what the API layer
 * learns asynchronously about the caller (is it the bucket owner's root user, may it
 * bypass governance retention, which retention did the write ask for) is handed over
 * through {@link CallerFacts}, keyed by the request id the context carries.
 */
import type { Clock } from '../../platform/clock.js';
import type { ObjectStoreEngine, ObjectStoreHooks, WriteContext } from '../store.js';
import { checkDeletable, checkRetentionChange, defaultRetention, LOCK_ATTRIBUTES, LOCK_CONFIG, lockEnabled, lockErrors, lockState, parseStoredLock, type RetentionMode } from './lock.js';
import { requireOwnerMfa, type MfaVerifier } from './mfa.js';

/** What the API layer established about a request's caller. */
export interface CallerFacts {
  /** The caller is the root user of the bucket owner's account. */
  isOwnerRoot?: boolean;
  /** The request asked to bypass governance retention and IAM allows it (s3:BypassGovernanceRetention). */
  mayBypassGovernance?: boolean;
  /** Lock attributes the write asked for explicitly (they replace the default retention). */
  lockAttributes?: Record<string, string>;
}

/** Request facts by request id, held for the duration of the request's store calls. */
export class CallerFactsRegistry {
  private readonly facts = new Map<string, CallerFacts>();

  /**
   * Runs `fn` with `facts` registered for `requestId`.
   *
   * @example
   * await registry.with(ctx.requestId, { isOwnerRoot: true }, () => store.deleteObject(...));
   */
  async with<T>(requestId: string, facts: CallerFacts, fn: () => Promise<T>): Promise<T> {
    const previous = this.facts.get(requestId);
    this.facts.set(requestId, { ...previous, ...facts });
    try {
      return await fn();
    } finally {
      if (previous) this.facts.set(requestId, previous);
      else this.facts.delete(requestId);
    }
  }

  of(context: WriteContext | undefined): CallerFacts {
    return (context?.requestId !== undefined ? this.facts.get(context.requestId) : undefined) ?? {};
  }
}

export interface ProtectionHooksDeps {
  store: Pick<ObjectStoreEngine, 'bucketConfig'>;
  clock: Clock;
  mfa: MfaVerifier;
  facts: CallerFactsRegistry;
}

/**
 * The guard hooks; install with `store.use(protectionHooks(...))`.
 *
 * @example
 * const facts = new CallerFactsRegistry();
 * store.use(protectionHooks({ store, clock, mfa: mfaDevices, facts }));
 */
export function protectionHooks(deps: ProtectionHooksDeps): ObjectStoreHooks {
  const lockConfig = (bucket: string) => parseStoredLock(deps.store.bucketConfig(bucket, LOCK_CONFIG));
  return {
    beforeDeleteVersion({ bucket, version, reason, context }) {
      const facts = deps.facts.of(context);
      if (reason === 'delete' && bucket.mfaDelete === 'Enabled') requireOwnerMfa(deps.mfa, bucket.owner, context?.mfa, facts.isOwnerRoot === true);
      const bypass = context?.bypassGovernanceRetention === true && facts.mayBypassGovernance === true;
      checkDeletable(version, deps.clock.now(), bypass);
    },

    beforeVersioningChange({ bucket, status, context }) {
      if (status === 'Suspended' && lockEnabled(bucket, lockConfig(bucket.name))) throw lockErrors.versioningLocked();
      if (bucket.mfaDelete === 'Enabled') requireOwnerMfa(deps.mfa, bucket.owner, context?.mfa, deps.facts.of(context).isOwnerRoot === true);
    },

    beforeAttributesChange({ version, patch, context }) {
      if (!(LOCK_ATTRIBUTES.mode in patch) && !(LOCK_ATTRIBUTES.retainUntil in patch)) return;
      const mode = patch[LOCK_ATTRIBUTES.mode];
      const until = patch[LOCK_ATTRIBUTES.retainUntil];
      const next = mode !== undefined && until !== undefined ? { mode: mode as RetentionMode, retainUntil: Date.parse(until) } : undefined;
      const bypass = context?.bypassGovernanceRetention === true && deps.facts.of(context).mayBypassGovernance === true;
      checkRetentionChange(lockState(version.attributes), next, deps.clock.now(), bypass);
    },

    versionAttributes({ bucket, context }) {
      const config = lockConfig(bucket.name);
      if (!lockEnabled(bucket, config)) return undefined;
      const explicit = deps.facts.of(context).lockAttributes;
      const retention = explicit && LOCK_ATTRIBUTES.mode in explicit ? undefined : defaultRetention(config, deps.clock.now());
      return { ...retention, ...explicit };
    },
  };
}
