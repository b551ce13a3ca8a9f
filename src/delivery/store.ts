/**
 * The delivery engine's persisted state per trail: its cursor in the event log, the
 * stretches of the log during which it was logging, and the delivery in progress (the
 * write-ahead intent that makes a retry after a crash write the same files). The engine
 * (delivery.ts) owns every rule; a store only keeps rows.
 */

/**
 * A stretch of the log during which the trail was logging: events with seq greater than
 * `after` (the end of the log at StartLogging), up to `end` once stopped.
 */
export interface LoggingSpan {
  after: number;
  /** The end of the log at StopLogging; absent while the trail logs. */
  end?: number;
  /**
   * The StopLogging call's own record, which is appended after the stop takes effect and
   * still belongs to the trail's log (the last event the trail delivers).
   */
  stopSeq?: number;
  /**
   * Set from StopLogging until the engine has found the call's record (or given up after
   * a grace period): `end` is already final, `since` is when the stop happened (ms).
   */
  awaitingStopRecord?: { since: number };
}

/** A delivery in progress: the log range (cursor, `toSeq`] and the time that names its files. */
export interface PendingDelivery {
  toSeq: number;
  deliveredAt: number;
}

/** What the engine keeps for one trail. */
export interface TrailDeliveryState {
  trailArn: string;
  accountId: string;
  homeRegion: string;
  name: string;
  /** The trail's creation time: a trail deleted and created again starts afresh. */
  trailCreatedAt: number;
  /** Every event up to this seq has been delivered or passed over. */
  cursor: number;
  /** In log order; finished spans are dropped once the cursor passes them. */
  spans: LoggingSpan[];
  pending?: PendingDelivery;
}

/** The delivery state store. Calls are synchronous (see trails/store.ts for why). */
export interface DeliveryStateStore {
  get(trailArn: string): TrailDeliveryState | undefined;
  list(): TrailDeliveryState[];
  /** Inserts or replaces the trail's state. */
  put(state: TrailDeliveryState): void;
  remove(trailArn: string): void;
}
