/**
 * The trail store's contract and the shapes it keeps: a trail's configuration (destination,
 * options, selectors, tags) and its status (logging on/off, latest deliveries). The `Trails`
 * engine (trails.ts) owns every rule; a store only keeps rows, so a second backend
 * implements this interface and nothing else.
 *
 * Selector and tag shapes use CloudTrail's own member names (`ReadWriteType`,
 * `FieldSelectors`...) because they travel to and from the wire unchanged and the delivery
 * engine evaluates them as CloudTrail documents them.
 *
 * Calls are synchronous: the embedded backend (better-sqlite3) answers without a round
 * trip, and the engine relies on that to check-and-write without interleaving.
 */

/** Identifies a trail: its account, home region and name (unique per account and region). */
export interface TrailKey {
  accountId: string;
  homeRegion: string;
  name: string;
}

/** Which events a basic selector logs by their read/write nature. */
export type ReadWriteType = 'ReadOnly' | 'WriteOnly' | 'All';

/** A basic event selector's data resource (`AWS::S3::Object` with ARN prefixes...). */
export interface DataResource {
  Type: string;
  Values: string[];
}

/** A basic event selector, stored with every member filled in (as GetEventSelectors returns it). */
export interface EventSelector {
  ReadWriteType: ReadWriteType;
  IncludeManagementEvents: boolean;
  DataResources: DataResource[];
  ExcludeManagementEventSources: string[];
}

/** The six operators an advanced field selector may use. */
export const SELECTOR_OPERATORS = ['Equals', 'StartsWith', 'EndsWith', 'NotEquals', 'NotStartsWith', 'NotEndsWith'] as const;
/** An advanced field selector operator. */
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

/** One condition of an advanced event selector; only the operators given are present. */
export type AdvancedFieldSelector = { Field: string } & Partial<Record<SelectorOperator, string[]>>;

/** An advanced event selector: all its conditions must match. */
export interface AdvancedEventSelector {
  Name?: string;
  FieldSelectors: AdvancedFieldSelector[];
}

/** The Insights types CloudTrail offers. */
export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight';
/** The event categories Insights can watch. */
export type InsightEventCategory = 'Management' | 'Data';

/** An Insights selector as submitted; without `EventCategories` it applies to management events. */
export interface InsightSelector {
  InsightType: InsightType;
  EventCategories?: InsightEventCategory[];
}

/** A tag; a key given without a value keeps no value. */
export interface Tag {
  Key: string;
  Value?: string;
}

/** Everything a trail's owner configures. Optional strings are absent when not set. */
export interface TrailConfig {
  s3BucketName: string;
  s3KeyPrefix?: string;
  /** The topic as the caller named it (name or ARN); `snsTopicArn` is its full ARN. */
  snsTopicName?: string;
  snsTopicArn?: string;
  includeGlobalServiceEvents: boolean;
  isMultiRegionTrail: boolean;
  isOrganizationTrail: boolean;
  logFileValidationEnabled: boolean;
  cloudWatchLogsLogGroupArn?: string;
  cloudWatchLogsRoleArn?: string;
  /** The key's full ARN, as CloudTrail reports it. */
  kmsKeyId?: string;
  /** Exactly one of the two selector kinds is non-null. */
  eventSelectors: EventSelector[] | null;
  advancedEventSelectors: AdvancedEventSelector[] | null;
  /** True once PutEventSelectors has been called on the trail. */
  hasCustomEventSelectors: boolean;
  /** Empty when Insights are off. */
  insightSelectors: InsightSelector[];
  tags: Tag[];
}

/**
 * What GetTrailStatus reports. Times are ms since the epoch; each is absent until the event
 * it names has happened. Delivery fields are set by the delivery engine through
 * `Trails.recordDelivery`.
 */
export interface TrailStatus {
  isLogging: boolean;
  startLoggingTime?: number;
  stopLoggingTime?: number;
  latestDeliveryTime?: number;
  latestDeliveryAttemptTime?: number;
  latestDeliveryError?: string;
  latestNotificationTime?: number;
  latestNotificationAttemptTime?: number;
  latestNotificationError?: string;
  latestDigestDeliveryTime?: number;
  latestDigestDeliveryError?: string;
  latestCloudWatchLogsDeliveryTime?: number;
  latestCloudWatchLogsDeliveryError?: string;
}

/** A stored trail. */
export interface TrailRecord extends TrailKey {
  trailArn: string;
  createdAt: number;
  config: TrailConfig;
  status: TrailStatus;
}

/** The trail store. Methods on a missing trail are no-ops; the engine checks first. */
export interface TrailStore {
  find(key: TrailKey): TrailRecord | undefined;
  /** Every trail of the account, in every region, ordered by name then home region. */
  listForAccount(accountId: string): TrailRecord[];
  /** Every trail whose status says it is logging, across accounts. */
  listLogging(): TrailRecord[];
  /** Adds a trail; throws if one with the same key exists. */
  insert(trail: TrailRecord): void;
  putConfig(key: TrailKey, config: TrailConfig): void;
  putStatus(key: TrailKey, status: TrailStatus): void;
  remove(key: TrailKey): void;
  /**
   * Runs `fn` so that no other write through this store interleaves with it; the engine
   * wraps each check-then-write in one.
   */
  atomically<T>(fn: () => T): T;
  /**
   * A number that changes whenever a write through this store may have changed what it
   * holds (including a transaction that rolled back), so readers can cache what they read.
   */
  version(): number;
}
