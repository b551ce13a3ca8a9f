/**
 * Archived objects (GLACIER and DEEP_ARCHIVE): they cannot be read until a restore has
 * completed, and a restored copy lasts the days asked for. State lives in the version's
 * attributes as times, so "ongoing", "restored" and "expired" follow from the clock with
 * no job to run. How long a restore takes follows S3's retrieval tiers unless the server
 * sets one delay for all (`--restore-delay`).
 */
import { AwsError } from '../../platform/errors.js';
import type { ObjectInfo } from '../store.js';

export const ARCHIVE_CLASSES: readonly string[] = ['GLACIER', 'DEEP_ARCHIVE'];

/** Version attributes a restore keeps (ms since epoch). */
export const RESTORE_ATTRIBUTES = {
  readyAt: 'restore-ready-at',
  expiresAt: 'restore-expires-at',
} as const;

export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** S3's typical completion times by class and tier (the upper ends of its published ranges). */
const TIER_DELAYS: Record<string, Record<RestoreTier, number>> = {
  GLACIER: { Expedited: 5 * MINUTE, Standard: 5 * HOUR, Bulk: 12 * HOUR },
  DEEP_ARCHIVE: { Expedited: 12 * HOUR, Standard: 12 * HOUR, Bulk: 48 * HOUR },
};

export type RestoreState = { status: 'none' } | { status: 'ongoing'; readyAt: number } | { status: 'restored'; expiresAt: number };

export const archiveErrors = {
  notReadable: (storageClass: string) =>
    new AwsError({
      code: 'InvalidObjectState',
      message: "The operation is not valid for the object's storage class",
      status: 403,
      extra: { StorageClass: storageClass },
    }),
  notArchived: (storageClass: string) =>
    new AwsError({
      code: 'InvalidObjectState',
      message: "Restore is not allowed for the object's current storage class",
      status: 403,
      extra: { StorageClass: storageClass },
    }),
  inProgress: () => new AwsError({ code: 'RestoreAlreadyInProgress', message: 'Object restore is already in progress', status: 409 }),
  expeditedDeepArchive: () =>
    new AwsError({ code: 'InvalidArgument', message: 'Expedited retrieval is not supported for the DEEP_ARCHIVE storage class', extra: { ArgumentName: 'Tier' } }),
};

export function isArchived(info: ObjectInfo): boolean {
  return ARCHIVE_CLASSES.includes(info.storageClass);
}

/** Where a version's restore stands at `now`. */
export function restoreState(info: ObjectInfo, now: number): RestoreState {
  const ready = Number(info.attributes[RESTORE_ATTRIBUTES.readyAt]);
  const expires = Number(info.attributes[RESTORE_ATTRIBUTES.expiresAt]);
  if (!Number.isFinite(ready) || !Number.isFinite(expires)) return { status: 'none' };
  if (now < ready) return { status: 'ongoing', readyAt: ready };
  if (now < expires) return { status: 'restored', expiresAt: expires };
  return { status: 'none' };
}

/** Whether the object's bytes can be read now (not archived, or a restored copy exists). */
export function readable(info: ObjectInfo, now: number): boolean {
  return !isArchived(info) || restoreState(info, now).status === 'restored';
}

/** The `x-amz-restore` header value, or undefined when there is no restore to report. */
export function restoreHeader(state: RestoreState): string | undefined {
  if (state.status === 'ongoing') return 'ongoing-request="true"';
  if (state.status === 'restored') return `ongoing-request="false", expiry-date="${new Date(state.expiresAt).toUTCString()}"`;
  return undefined;
}

/** How long a restore takes: the server's fixed delay when set, else S3's typical time for the tier. */
export function restoreDelay(storageClass: string, tier: RestoreTier, fixedDelayMs: number | undefined): number {
  if (fixedDelayMs !== undefined) return fixedDelayMs;
  return (TIER_DELAYS[storageClass] ?? TIER_DELAYS.GLACIER)?.[tier] ?? 5 * HOUR;
}

/**
 * The attributes a restore request sets: when the copy is ready and when it expires
 * (`days` after completion, rounded up to the next midnight UTC, as S3 does). A request on
 * an already-restored copy only moves its expiry.
 */
export function restoreAttributes(info: ObjectInfo, now: number, days: number, tier: RestoreTier, fixedDelayMs: number | undefined): { attributes: Record<string, string>; alreadyRestored: boolean } {
  const state = restoreState(info, now);
  if (state.status === 'ongoing') throw archiveErrors.inProgress();
  const readyAt = state.status === 'restored' ? now : now + restoreDelay(info.storageClass, tier, fixedDelayMs);
  const expiresAt = Math.ceil((readyAt + days * DAY) / DAY) * DAY;
  return {
    attributes: {
      [RESTORE_ATTRIBUTES.readyAt]: String(state.status === 'restored' ? Number(info.attributes[RESTORE_ATTRIBUTES.readyAt]) : readyAt),
      [RESTORE_ATTRIBUTES.expiresAt]: String(expiresAt),
    },
    alreadyRestored: state.status === 'restored',
  };
}
