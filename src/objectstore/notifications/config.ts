/**
 * A bucket's event notification configuration as stored (the `notification` bucket
 * setting), and which of its destinations a change goes to: S3's event types with their
 * `:*` wildcards, and key-name prefix and suffix filters.
 */
import type { ObjectEvent } from '../store.js';

/** The bucket setting holding the notification configuration. */
export const NOTIFICATION_CONFIG = 'notification';

export type DestinationKind = 'Topic' | 'Queue' | 'LambdaFunction';

/** One destination as stored. */
export interface NotificationDestination {
  kind: DestinationKind;
  id: string;
  arn: string;
  /** S3 event types (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`...). */
  events: string[];
  filterRules: { name: 'prefix' | 'suffix'; value: string }[];
}

/** A bucket's notification configuration as stored. */
export interface StoredNotificationConfiguration {
  destinations: NotificationDestination[];
  eventBridge: boolean;
}

/** Whether a destination's event types take `eventName` (`ObjectCreated:Put`): by name, or by its family's `:*`. */
function takesEvent(d: NotificationDestination, eventName: string): boolean {
  const name = `s3:${eventName}`;
  const colon = name.lastIndexOf(':');
  // `s3:LifecycleTransition` has no family; `s3:ObjectCreated:Put` belongs to `s3:ObjectCreated:*`.
  const family = colon > 2 ? `${name.slice(0, colon)}:*` : undefined;
  return d.events.some((e) => e === name || e === family);
}

const KEEP = /^[A-Za-z0-9.\-_*/]$/;

/**
 * An object key as S3 event notifications carry it: form-URL-encoded (a space is `+`, a
 * `+` is `%2B`, other bytes outside letters, digits and `.-_*` are `%XX` of their UTF-8),
 * with `/` left as it is.
 *
 * @example
 * notificationKey('logs/a b+(1).json'); // 'logs/a+b%2B%281%29.json'
 */
export function notificationKey(key: string): string {
  let out = '';
  for (const ch of key) {
    if (KEEP.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The destinations a committed change is to be delivered to. Key filters compare with the
 * key as notifications encode it, which is how S3 asks for filter values to be written.
 */
export function matchingDestinations(stored: StoredNotificationConfiguration, event: Pick<ObjectEvent, 'eventName' | 'key'>): NotificationDestination[] {
  let encoded: string | undefined;
  return stored.destinations.filter(
    (d) =>
      takesEvent(d, event.eventName) &&
      d.filterRules.every((r) => {
        encoded ??= notificationKey(event.key);
        return r.name === 'prefix' ? encoded.startsWith(r.value) : encoded.endsWith(r.value);
      }),
  );
}
