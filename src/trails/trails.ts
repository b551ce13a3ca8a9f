/**
 * The trail control plane: creating, updating and deleting trails, starting and stopping
 * their logging, their event and Insights selectors and tags, with CloudTrail's rules
 * (names, quotas, home regions, shadow trails of multi-region trails). The delivery engine
 * reads trails through {@link Trails.listLoggingTrails} and {@link Trails.get} and reports
 * back through {@link Trails.recordDelivery}. Nothing here knows the wire.
 */
import { parsePolicyDocument, type AuthzPrincipal } from '../auth/policy.js';
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import { bucketPolicyAllowsDelivery, keyUseRequest, type DeliveryTarget } from './delivery-access.js';
import { trailErrors } from './errors.js';
import type { EventSelectorInput, InsightSelectorInput } from './selectors.js';
import {
  coverage,
  defaultEventSelectors,
  normalizeAdvancedEventSelectors,
  normalizeEventSelectors,
  normalizeInsightSelectors,
} from './selectors.js';
import type {
  AdvancedEventSelector,
  EventSelector,
  InsightSelector,
  Tag,
  TrailConfig,
  TrailKey,
  TrailRecord,
  TrailStatus,
  TrailStore,
} from './store.js';
import {
  MAX_TAGS_PER_TRAIL,
  checkBucketName,
  checkCloudWatchLogs,
  checkS3Prefix,
  checkTags,
  checkTrailName,
  isArn,
  kmsKeyRef,
  parseTrailArn,
  snsTopicArn,
  trailArn,
} from './validation.js';

/** Trails per account in one region, counting the shadows of other regions' multi-region trails. */
export const MAX_TRAILS_PER_REGION = 5;

/** Where a call happens: the caller's account and the region it called. */
export interface Scope {
  accountId: string;
  region: string;
}

/** An account's place in AWS Organizations, as far as organization trails care. */
export type OrganizationRole = 'management' | 'member' | 'none';

/** What the engine needs; the optional lookups are wired once the services they ask exist. */
export interface TrailsDeps {
  store: TrailStore;
  clock: Clock;
  /** Checks the log bucket exists (in any account); without it only the bucket's name is validated. */
  bucketExists?: (accountId: string, bucket: string) => Promise<boolean>;
  /**
   * The bucket's policy text, `null` when it has none, `undefined` when it cannot be read
   * (an external endpoint without GetBucketPolicy): then the policy check is skipped.
   * Without it bucket policies are not checked.
   */
  bucketPolicy?: (bucket: string) => Promise<string | null | undefined>;
  /**
   * Whether a key policy allows a request (principal, action, condition keys) on a KMS key
   * ARN; without it KMS key policies are not checked.
   */
  keyPolicyAllows?: (request: { principal: AuthzPrincipal; action: string; keyArn: string; context: Record<string, string> }) => Promise<boolean>;
  /**
   * Resolves a KMS key or alias ARN to its key's ARN, or undefined when there is no such
   * key; without it key ARNs are kept as given and aliases as alias ARNs.
   */
  resolveKmsKey?: (accountId: string, arn: string) => Promise<string | undefined>;
  /** The account's organization role; without it every account is in no organization. */
  organizationRole?: (accountId: string) => Promise<OrganizationRole>;
  /** ListTrails page size (default 50). */
  listPageSize?: number;
  /** Told of every delivery outcome recorded (the server's metrics). */
  deliveryRecorded?: (outcome: DeliveryOutcome) => void;
  /**
   * Told when a trail starts or stops logging, inside the write that changes it, so the
   * delivery engine can mark the exact end of the event log at that moment.
   */
  loggingChanged?: (trail: TrailRecord, isLogging: boolean) => void;
  /**
   * Checks CloudTrail could deliver to the CloudWatch Logs log group with the role (the group
   * exists; the role exists, trusts CloudTrail and allows writing), throwing
   * InvalidCloudWatchLogsLogGroupArnException or InvalidCloudWatchLogsRoleArnException;
   * without it only the ARNs' forms are checked.
   */
  cloudWatchLogsAccess?: (accountId: string, logGroupArn: string, roleArn: string) => void;
  /**
   * Whether the SNS topic exists and its policy lets CloudTrail publish for the trail
   * (InsufficientSnsTopicPolicyException otherwise); without it topics are not checked.
   */
  snsTopicAllows?: (topicArn: string, trail: { trailArn: string; accountId: string }) => boolean;
}

/** CreateTrail's parameters. */
export interface CreateTrailInput {
  name: string;
  s3BucketName: string;
  s3KeyPrefix?: string;
  snsTopicName?: string;
  includeGlobalServiceEvents?: boolean;
  isMultiRegionTrail?: boolean;
  enableLogFileValidation?: boolean;
  cloudWatchLogsLogGroupArn?: string;
  cloudWatchLogsRoleArn?: string;
  kmsKeyId?: string;
  isOrganizationTrail?: boolean;
  tags?: Tag[];
}

/**
 * UpdateTrail's parameters; absent members keep their value. An empty string removes the
 * SNS topic, the KMS key or the CloudWatch Logs delivery.
 */
export interface UpdateTrailInput {
  nameOrArn: string;
  s3BucketName?: string;
  s3KeyPrefix?: string;
  snsTopicName?: string;
  includeGlobalServiceEvents?: boolean;
  isMultiRegionTrail?: boolean;
  enableLogFileValidation?: boolean;
  cloudWatchLogsLogGroupArn?: string;
  cloudWatchLogsRoleArn?: string;
  kmsKeyId?: string;
  isOrganizationTrail?: boolean;
}

/** A trail's selectors: exactly one of the two kinds is present. */
export type TrailSelectors =
  | { trailArn: string; eventSelectors: EventSelector[] }
  | { trailArn: string; advancedEventSelectors: AdvancedEventSelector[] };

/** What PutEventSelectors submits: one kind or the other. */
export interface PutEventSelectorsInput {
  eventSelectors?: EventSelectorInput[];
  advancedEventSelectors?: AdvancedEventSelector[];
}

/** One page of ListTrails. */
export interface TrailPage {
  trails: TrailRecord[];
  nextToken?: string;
}

/** A delivery the delivery engine attempted for a trail; `error` set when it failed. */
export interface DeliveryOutcome {
  kind: 'logFile' | 'digest' | 'notification' | 'cloudWatchLogs';
  at: number;
  error?: string;
}

interface Resolve {
  /** Mutations of a multi-region trail are refused outside its home region. */
  mutate: boolean;
  /** GetTrail names the trail in its not-found message as the caller did; the others by ARN. */
  notFoundAsGiven?: boolean;
}

/**
 * The trail engine.
 *
 * @example
 * const trails = new Trails({ store: new SqliteTrailStore(db), clock: systemClock });
 * await trails.create({ accountId, region: 'us-east-1' }, { name: 'main', s3BucketName: 'logs' });
 */
export class Trails {
  private readonly store: TrailStore;
  private readonly clock: Clock;
  private readonly pageSize: number;
  /** The logging trails as last read, while the store has not changed since. */
  private logging: { version: number; trails: readonly TrailRecord[] } | undefined;

  constructor(private readonly deps: TrailsDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.pageSize = deps.listPageSize ?? 50;
  }

  /** Creates a trail in the scope's region; it does not log until StartLogging. */
  async create(scope: Scope, input: CreateTrailInput): Promise<TrailRecord> {
    checkTrailName(input.name);
    checkBucketName(input.s3BucketName);
    if (input.s3KeyPrefix !== undefined) checkS3Prefix(input.s3KeyPrefix);
    const sns = nonEmpty(input.snsTopicName);
    const snsArn = sns === undefined ? undefined : snsTopicArn(sns, scope.region, scope.accountId);
    const isMultiRegionTrail = input.isMultiRegionTrail ?? false;
    const includeGlobalServiceEvents = input.includeGlobalServiceEvents ?? true;
    checkGlobalEvents(isMultiRegionTrail, includeGlobalServiceEvents);
    const logGroup = nonEmpty(input.cloudWatchLogsLogGroupArn);
    const role = nonEmpty(input.cloudWatchLogsRoleArn);
    checkCloudWatchLogs(logGroup, role, scope.region, scope.accountId);
    if (logGroup !== undefined && role !== undefined) this.deps.cloudWatchLogsAccess?.(scope.accountId, logGroup, role);
    const kmsInput = nonEmpty(input.kmsKeyId);
    const kmsRef = kmsInput === undefined ? undefined : kmsKeyRef(kmsInput, scope.region, scope.accountId);
    const tags = input.tags ?? [];
    checkTags(tags);
    if (tags.length > MAX_TAGS_PER_TRAIL) throw trailErrors.tagsLimitExceeded(MAX_TAGS_PER_TRAIL);
    const isOrganizationTrail = input.isOrganizationTrail ?? false;
    if (isOrganizationTrail) await this.checkOrganizationTrail(scope.accountId);
    // Cheap checks first, so a duplicate name is reported before the bucket is looked up.
    this.checkRoomFor(scope, input.name, isMultiRegionTrail, undefined);
    await this.checkBucket(scope.accountId, input.s3BucketName);
    const kmsKeyId = kmsRef === undefined ? undefined : await this.resolveKms(scope.accountId, kmsInput ?? '', kmsRef.arn);
    const target: DeliveryTarget = {
      trailArn: trailArn(scope.region, scope.accountId, input.name),
      accountId: scope.accountId,
      bucket: input.s3BucketName,
      ...(input.s3KeyPrefix !== undefined ? { s3KeyPrefix: input.s3KeyPrefix } : {}),
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
    };
    await this.checkDeliveryPolicies(target, { bucket: true, key: kmsKeyId !== undefined });
    if (snsArn !== undefined) this.checkTopic(snsArn, target);

    const config: TrailConfig = {
      s3BucketName: input.s3BucketName,
      ...(input.s3KeyPrefix !== undefined ? { s3KeyPrefix: input.s3KeyPrefix } : {}),
      ...(sns !== undefined && snsArn !== undefined ? { snsTopicName: sns, snsTopicArn: snsArn } : {}),
      includeGlobalServiceEvents,
      isMultiRegionTrail,
      isOrganizationTrail,
      logFileValidationEnabled: input.enableLogFileValidation ?? false,
      ...(logGroup !== undefined && role !== undefined
        ? { cloudWatchLogsLogGroupArn: logGroup, cloudWatchLogsRoleArn: role }
        : {}),
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
      eventSelectors: defaultEventSelectors(),
      advancedEventSelectors: null,
      hasCustomEventSelectors: false,
      insightSelectors: [],
      tags: tags.map((t) => ({ ...t })),
    };
    const record: TrailRecord = {
      accountId: scope.accountId,
      homeRegion: scope.region,
      name: input.name,
      trailArn: trailArn(scope.region, scope.accountId, input.name),
      createdAt: this.clock.now(),
      config,
      status: { isLogging: false },
    };
    // Checked again under the write lock: the awaits above let other calls in.
    this.store.atomically(() => {
      this.checkRoomFor(scope, input.name, isMultiRegionTrail, undefined);
      this.store.insert(record);
    });
    return record;
  }

  /** Updates a trail from its home region. */
  async update(scope: Scope, input: UpdateTrailInput): Promise<TrailRecord> {
    const trail = this.resolve(scope, input.nameOrArn, { mutate: true });
    const old = trail.config;
    const region = trail.homeRegion;
    if (input.s3BucketName !== undefined) checkBucketName(input.s3BucketName);
    if (input.s3KeyPrefix !== undefined) checkS3Prefix(input.s3KeyPrefix);
    let sns: { snsTopicName?: string; snsTopicArn?: string } = pick(old, 'snsTopicName', 'snsTopicArn');
    if (input.snsTopicName !== undefined) {
      sns = input.snsTopicName === ''
        ? {}
        : { snsTopicName: input.snsTopicName, snsTopicArn: snsTopicArn(input.snsTopicName, region, trail.accountId) };
    }
    const isMultiRegionTrail = input.isMultiRegionTrail ?? old.isMultiRegionTrail;
    const includeGlobalServiceEvents = input.includeGlobalServiceEvents ?? old.includeGlobalServiceEvents;
    checkGlobalEvents(isMultiRegionTrail, includeGlobalServiceEvents);
    let logs = pick(old, 'cloudWatchLogsLogGroupArn', 'cloudWatchLogsRoleArn');
    if (input.cloudWatchLogsLogGroupArn !== undefined || input.cloudWatchLogsRoleArn !== undefined) {
      const group = input.cloudWatchLogsLogGroupArn ?? old.cloudWatchLogsLogGroupArn;
      const role = input.cloudWatchLogsRoleArn ?? old.cloudWatchLogsRoleArn;
      const clearing = input.cloudWatchLogsLogGroupArn === '' || input.cloudWatchLogsRoleArn === '';
      if (clearing) {
        logs = {};
      } else {
        checkCloudWatchLogs(group, role, region, trail.accountId);
        if (group !== undefined && role !== undefined) this.deps.cloudWatchLogsAccess?.(trail.accountId, group, role);
        logs = group !== undefined && role !== undefined ? { cloudWatchLogsLogGroupArn: group, cloudWatchLogsRoleArn: role } : {};
      }
    }
    let kms = pick(old, 'kmsKeyId');
    if (input.kmsKeyId !== undefined && input.kmsKeyId !== '') {
      const ref = kmsKeyRef(input.kmsKeyId, region, trail.accountId);
      kms = { kmsKeyId: await this.resolveKms(trail.accountId, input.kmsKeyId, ref.arn) };
    } else if (input.kmsKeyId === '') {
      kms = {};
    }
    const isOrganizationTrail = input.isOrganizationTrail ?? old.isOrganizationTrail;
    if (input.isOrganizationTrail !== undefined && input.isOrganizationTrail !== old.isOrganizationTrail) {
      await this.checkOrganizationTrail(trail.accountId);
    }
    const becomesMultiRegion = isMultiRegionTrail && !old.isMultiRegionTrail;
    const home: Scope = { accountId: trail.accountId, region };
    if (becomesMultiRegion) this.checkRoomFor(home, trail.name, true, trail);
    if (input.s3BucketName !== undefined && input.s3BucketName !== old.s3BucketName) {
      await this.checkBucket(trail.accountId, input.s3BucketName);
    }
    // The policies are checked again when the bucket, the prefix or the key is given.
    const prefix = input.s3KeyPrefix ?? old.s3KeyPrefix;
    const target: DeliveryTarget = {
      trailArn: trail.trailArn,
      accountId: trail.accountId,
      bucket: input.s3BucketName ?? old.s3BucketName,
      ...(prefix !== undefined ? { s3KeyPrefix: prefix } : {}),
      ...(kms.kmsKeyId !== undefined ? { kmsKeyId: kms.kmsKeyId } : {}),
    };
    await this.checkDeliveryPolicies(target, {
      bucket: input.s3BucketName !== undefined || input.s3KeyPrefix !== undefined,
      key: input.kmsKeyId !== undefined && input.kmsKeyId !== '',
    });
    if (input.snsTopicName !== undefined && sns.snsTopicArn !== undefined) this.checkTopic(sns.snsTopicArn, target);

    return this.store.atomically(() => {
      const current = this.store.find(trail) ?? fail(trailErrors.trailNotFound(trail.trailArn, trail.accountId));
      if (becomesMultiRegion) this.checkRoomFor(home, trail.name, true, current);
      const c = current.config;
      const s3KeyPrefix = input.s3KeyPrefix ?? c.s3KeyPrefix;
      const config: TrailConfig = {
        s3BucketName: input.s3BucketName ?? c.s3BucketName,
        ...(s3KeyPrefix !== undefined ? { s3KeyPrefix } : {}),
        ...sns,
        includeGlobalServiceEvents,
        isMultiRegionTrail,
        isOrganizationTrail,
        logFileValidationEnabled: input.enableLogFileValidation ?? c.logFileValidationEnabled,
        ...logs,
        ...kms,
        eventSelectors: c.eventSelectors,
        advancedEventSelectors: c.advancedEventSelectors,
        hasCustomEventSelectors: c.hasCustomEventSelectors,
        insightSelectors: c.insightSelectors,
        tags: c.tags,
      };
      this.store.putConfig(current, config);
      return { ...current, config };
    });
  }

  /** Deletes a trail from its home region. */
  delete(scope: Scope, nameOrArn: string): void {
    const trail = this.resolve(scope, nameOrArn, { mutate: true });
    this.store.remove(trail);
  }

  /**
   * The trail a name or ARN names as seen from the scope's region: a name finds a trail of
   * that region; an ARN also finds the shadow of another region's multi-region trail.
   * Throws TrailNotFoundException, InvalidTrailNameException or CloudTrailARNInvalidException.
   */
  get(accountId: string, region: string, nameOrArn: string, opts: { notFoundAsGiven?: boolean } = {}): TrailRecord {
    return this.resolve({ accountId, region }, nameOrArn, { mutate: false, ...opts });
  }

  /** The trail, or undefined when no visible trail has that name or ARN. */
  find(accountId: string, region: string, nameOrArn: string): TrailRecord | undefined {
    try {
      return this.get(accountId, region, nameOrArn);
    } catch {
      return undefined;
    }
  }

  /**
   * DescribeTrails: without names, the region's trails and (unless `includeShadowTrails` is
   * false) the shadows of other regions' multi-region trails. Names match only the region's
   * own trails; ARNs also match shadows. Unknown names and ARNs are left out.
   */
  describe(scope: Scope, namesOrArns: readonly string[] | undefined, includeShadowTrails = true): TrailRecord[] {
    const all = this.store.listForAccount(scope.accountId);
    const visible = (t: TrailRecord) =>
      t.homeRegion === scope.region || (includeShadowTrails && t.config.isMultiRegionTrail);
    if (!namesOrArns || namesOrArns.length === 0) return all.filter(visible);
    const out: TrailRecord[] = [];
    for (const entry of namesOrArns) {
      let match: TrailRecord | undefined;
      if (isArn(entry)) {
        const arn = parseTrailArn(entry);
        match = all.find((t) => t.trailArn === trailArn(arn.region, arn.accountId, arn.name) && visible(t));
      } else {
        checkTrailName(entry);
        match = all.find((t) => t.name === entry && t.homeRegion === scope.region);
      }
      if (match && !out.includes(match)) out.push(match);
    }
    return out;
  }

  /** ListTrails: the account's trails in every region, a page at a time. */
  list(accountId: string, nextToken?: string): TrailPage {
    const all = this.store.listForAccount(accountId);
    let start = 0;
    if (nextToken !== undefined) {
      const after = decodeToken(nextToken);
      start = all.findIndex((t) => t.name > after.name || (t.name === after.name && t.homeRegion > after.region));
      if (start < 0) start = all.length;
    }
    const trails = all.slice(start, start + this.pageSize);
    const last = trails[trails.length - 1];
    return start + this.pageSize < all.length && last
      ? { trails, nextToken: encodeToken({ name: last.name, region: last.homeRegion }) }
      : { trails };
  }

  /** StartLogging, from the trail's home region; a trail already logging keeps its start time. */
  startLogging(scope: Scope, nameOrArn: string): void {
    const trail = this.resolve(scope, nameOrArn, { mutate: true });
    this.store.atomically(() => {
      const status = this.store.find(trail)?.status ?? trail.status;
      if (status.isLogging) return;
      const next = { ...status, isLogging: true, startLoggingTime: this.clock.now() };
      this.store.putStatus(trail, next);
      this.deps.loggingChanged?.({ ...trail, status: next }, true);
    });
  }

  /** StopLogging, from the trail's home region; a trail already stopped keeps its stop time. */
  stopLogging(scope: Scope, nameOrArn: string): void {
    const trail = this.resolve(scope, nameOrArn, { mutate: true });
    this.store.atomically(() => {
      const status = this.store.find(trail)?.status ?? trail.status;
      if (!status.isLogging) return;
      const next = { ...status, isLogging: false, stopLoggingTime: this.clock.now() };
      this.store.putStatus(trail, next);
      this.deps.loggingChanged?.({ ...trail, status: next }, false);
    });
  }

  /** GetTrailStatus. */
  status(scope: Scope, nameOrArn: string): TrailStatus {
    return this.resolve(scope, nameOrArn, { mutate: false }).status;
  }

  /** PutEventSelectors, from the trail's home region: basic or advanced selectors, replacing the other kind. */
  putEventSelectors(scope: Scope, nameOrArn: string, input: PutEventSelectorsInput): TrailSelectors {
    const trail = this.resolve(scope, nameOrArn, { mutate: true });
    if (input.eventSelectors !== undefined && input.advancedEventSelectors !== undefined) {
      throw trailErrors.invalidParameterCombination('You can use either EventSelectors or AdvancedEventSelectors, but not both.');
    }
    let basic: EventSelector[] | null = null;
    let advanced: AdvancedEventSelector[] | null = null;
    if (input.eventSelectors !== undefined) basic = normalizeEventSelectors(input.eventSelectors);
    else if (input.advancedEventSelectors !== undefined) advanced = normalizeAdvancedEventSelectors(input.advancedEventSelectors);
    else throw trailErrors.invalidParameterCombination('You must specify either EventSelectors or AdvancedEventSelectors.');
    this.updateConfig(trail, (c) => ({ ...c, eventSelectors: basic, advancedEventSelectors: advanced, hasCustomEventSelectors: true }));
    return selectorsOf(trail.trailArn, basic, advanced);
  }

  /** GetEventSelectors. */
  getEventSelectors(scope: Scope, nameOrArn: string): TrailSelectors {
    const trail = this.resolve(scope, nameOrArn, { mutate: false });
    return selectorsOf(trail.trailArn, trail.config.eventSelectors, trail.config.advancedEventSelectors);
  }

  /** PutInsightSelectors, from the trail's home region; an empty list turns Insights off. */
  putInsightSelectors(
    scope: Scope,
    nameOrArn: string,
    selectors: readonly InsightSelectorInput[],
  ): { trailArn: string; insightSelectors: InsightSelector[] } {
    const trail = this.resolve(scope, nameOrArn, { mutate: true });
    const normalized = normalizeInsightSelectors(
      selectors,
      coverage(trail.config.eventSelectors, trail.config.advancedEventSelectors),
    );
    this.updateConfig(trail, (c) => ({ ...c, insightSelectors: normalized }));
    return { trailArn: trail.trailArn, insightSelectors: normalized };
  }

  /** GetInsightSelectors; InsightNotEnabledException when the trail has none. */
  getInsightSelectors(scope: Scope, nameOrArn: string): { trailArn: string; insightSelectors: InsightSelector[] } {
    const trail = this.resolve(scope, nameOrArn, { mutate: false });
    if (trail.config.insightSelectors.length === 0) throw trailErrors.insightNotEnabled(trail.trailArn);
    return { trailArn: trail.trailArn, insightSelectors: trail.config.insightSelectors };
  }

  /** AddTags on a trail ARN, from its home region: new keys are added, existing keys take the new value. */
  addTags(scope: Scope, resourceId: string, tags: readonly Tag[]): void {
    checkTags(tags);
    const trail = this.resolveResource(scope, resourceId, true);
    this.updateConfig(trail, (c) => {
      const merged = c.tags.map((t) => ({ ...t }));
      for (const tag of tags) {
        const existing = merged.find((t) => t.Key === tag.Key);
        if (existing) {
          if (tag.Value === undefined) delete existing.Value;
          else existing.Value = tag.Value;
        } else {
          merged.push({ ...tag });
        }
      }
      if (merged.length > MAX_TAGS_PER_TRAIL) throw trailErrors.tagsLimitExceeded(MAX_TAGS_PER_TRAIL);
      return { ...c, tags: merged };
    });
  }

  /** RemoveTags on a trail ARN, from its home region; keys the trail lacks are ignored. */
  removeTags(scope: Scope, resourceId: string, tags: readonly Tag[]): void {
    const trail = this.resolveResource(scope, resourceId, true);
    const keys = new Set(tags.map((t) => t.Key));
    this.updateConfig(trail, (c) => ({ ...c, tags: c.tags.filter((t) => !keys.has(t.Key)) }));
  }

  /** ListTags for up to 20 trail ARNs, in the order given. */
  listTags(scope: Scope, resourceIds: readonly string[]): { resourceId: string; tags: Tag[] }[] {
    if (resourceIds.length > 20) {
      throw trailErrors.invalidParameter(`ResourceIdList can have at most 20 ARNs; ${resourceIds.length} were specified.`);
    }
    return resourceIds.map((id) => ({ resourceId: id, tags: this.resolveResource(scope, id, false).config.tags }));
  }

  /**
   * Every trail that is logging, in every account and region: the delivery engine's work list.
   * Read again only after the store changed, so consumers may call it on every pass.
   */
  listLoggingTrails(): readonly TrailRecord[] {
    const version = this.store.version();
    if (this.logging?.version !== version) {
      this.logging = { version, trails: this.store.listLogging() };
    }
    return this.logging.trails;
  }

  /**
   * Records a delivery the delivery engine attempted. A success sets the latest time of its
   * kind and clears its error; a failure sets the error. No-op for a deleted trail.
   */
  recordDelivery(key: TrailKey, outcome: DeliveryOutcome): void {
    this.deps.deliveryRecorded?.(outcome);
    this.store.atomically(() => {
      const trail = this.store.find(key);
      if (!trail) return;
      const s: TrailStatus = { ...trail.status };
      const ok = outcome.error === undefined;
      switch (outcome.kind) {
        case 'logFile':
          s.latestDeliveryAttemptTime = outcome.at;
          if (ok) {
            s.latestDeliveryTime = outcome.at;
            delete s.latestDeliveryError;
          } else s.latestDeliveryError = outcome.error;
          break;
        case 'digest':
          if (ok) {
            s.latestDigestDeliveryTime = outcome.at;
            delete s.latestDigestDeliveryError;
          } else s.latestDigestDeliveryError = outcome.error;
          break;
        case 'notification':
          s.latestNotificationAttemptTime = outcome.at;
          if (ok) {
            s.latestNotificationTime = outcome.at;
            delete s.latestNotificationError;
          } else s.latestNotificationError = outcome.error;
          break;
        case 'cloudWatchLogs':
          if (ok) {
            s.latestCloudWatchLogsDeliveryTime = outcome.at;
            delete s.latestCloudWatchLogsDeliveryError;
          } else s.latestCloudWatchLogsDeliveryError = outcome.error;
          break;
      }
      this.store.putStatus(key, s);
    });
  }

  /** CloudTrail must be able to publish to the trail's topic. */
  private checkTopic(topicArn: string, target: DeliveryTarget): void {
    if (this.deps.snsTopicAllows && !this.deps.snsTopicAllows(topicArn, { trailArn: target.trailArn, accountId: target.accountId })) {
      throw trailErrors.insufficientSnsTopicPolicy();
    }
  }

  private resolve(scope: Scope, nameOrArn: string, opts: Resolve): TrailRecord {
    if (isArn(nameOrArn)) {
      const arn = parseTrailArn(nameOrArn);
      const notFound = () => trailErrors.trailNotFound(nameOrArn, scope.accountId);
      if (arn.accountId !== scope.accountId) throw notFound();
      const trail = this.store.find({ accountId: arn.accountId, homeRegion: arn.region, name: arn.name });
      if (!trail) throw notFound();
      if (trail.homeRegion !== scope.region) {
        if (!trail.config.isMultiRegionTrail) throw notFound();
        if (opts.mutate) throw trailErrors.invalidHomeRegion(trail.homeRegion, scope.region);
      }
      return trail;
    }
    checkTrailName(nameOrArn);
    const trail = this.store.find({ accountId: scope.accountId, homeRegion: scope.region, name: nameOrArn });
    if (!trail) {
      const label = opts.notFoundAsGiven ? nameOrArn : trailArn(scope.region, scope.accountId, nameOrArn);
      throw trailErrors.trailNotFound(label, scope.accountId);
    }
    return trail;
  }

  /** A tagging call's resource: a trail ARN, or ResourceNotFoundException. */
  private resolveResource(scope: Scope, resourceId: string, mutate: boolean): TrailRecord {
    if (!isArn(resourceId)) throw trailErrors.arnInvalid(resourceId);
    if (/^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:(eventdatastore|channel|dashboard)\//.test(resourceId)) {
      throw trailErrors.resourceNotFound(resourceId);
    }
    try {
      return this.resolve(scope, resourceId, { mutate });
    } catch (e) {
      if (isAwsError(e) && e.code === 'TrailNotFoundException') throw trailErrors.resourceNotFound(resourceId);
      throw e;
    }
  }

  private updateConfig(trail: TrailKey, change: (config: TrailConfig) => TrailConfig): void {
    this.store.atomically(() => {
      const current = this.store.find(trail);
      if (!current) return;
      this.store.putConfig(trail, change(current.config));
    });
  }

  /**
   * Refuses a trail named `name` in `scope` (multi-region or not) when the name is taken in
   * a region it would appear in, or a region it would appear in already shows five trails.
   * `self` is the trail being converted, which never conflicts with itself.
   */
  private checkRoomFor(scope: Scope, name: string, multiRegion: boolean, self: TrailKey | undefined): void {
    const others = this.store
      .listForAccount(scope.accountId)
      .filter((t) => !self || t.homeRegion !== self.homeRegion || t.name !== self.name);
    const taken = others.some(
      (t) => t.name === name && (t.homeRegion === scope.region || t.config.isMultiRegionTrail || multiRegion),
    );
    if (taken) throw trailErrors.trailAlreadyExists(name, scope.accountId);
    const regions = multiRegion ? new Set([scope.region, ...others.map((t) => t.homeRegion)]) : new Set([scope.region]);
    for (const region of regions) {
      // The converted trail already counts in its home region.
      if (self && region === scope.region) continue;
      const count = others.filter((t) => t.homeRegion === region || t.config.isMultiRegionTrail).length;
      if (count >= MAX_TRAILS_PER_REGION) throw trailErrors.maximumTrails(scope.accountId, region, MAX_TRAILS_PER_REGION);
    }
  }

  private async checkOrganizationTrail(accountId: string): Promise<void> {
    const role = this.deps.organizationRole ? await this.deps.organizationRole(accountId) : 'none';
    if (role === 'none') throw trailErrors.organizationsNotInUse();
    if (role === 'member') throw trailErrors.notOrganizationMasterAccount(accountId);
  }

  private async checkBucket(accountId: string, bucket: string): Promise<void> {
    if (this.deps.bucketExists && !(await this.deps.bucketExists(accountId, bucket))) {
      throw trailErrors.s3BucketDoesNotExist(bucket);
    }
  }

  /**
   * CloudTrail's permissions on the bucket (InsufficientS3BucketPolicyException) and on the
   * KMS key (InsufficientEncryptionPolicyException), checked as CloudTrail's service
   * principal: the bucket's owner account is no exception, since CloudTrail is not it.
   */
  private async checkDeliveryPolicies(target: DeliveryTarget, which: { bucket: boolean; key: boolean }): Promise<void> {
    if (which.bucket && this.deps.bucketPolicy) {
      const text = await this.deps.bucketPolicy(target.bucket);
      if (text !== undefined) {
        let allowed = false;
        if (text !== null) {
          try {
            allowed = bucketPolicyAllowsDelivery(parsePolicyDocument(text, 'resource'), target);
          } catch (e) {
            // A policy this evaluator cannot read grants CloudTrail nothing.
            if (!isAwsError(e)) throw e;
          }
        }
        if (!allowed) throw trailErrors.insufficientS3BucketPolicy(target.bucket);
      }
    }
    if (which.key && target.kmsKeyId !== undefined && this.deps.keyPolicyAllows) {
      const request = keyUseRequest(target);
      if (!(await this.deps.keyPolicyAllows({ ...request, keyArn: target.kmsKeyId }))) {
        throw trailErrors.insufficientEncryptionPolicy(target.bucket, target.kmsKeyId);
      }
    }
  }

  private async resolveKms(accountId: string, given: string, arn: string): Promise<string> {
    if (!this.deps.resolveKmsKey) return arn;
    const resolved = await this.deps.resolveKmsKey(accountId, arn);
    if (resolved === undefined) throw trailErrors.kmsKeyNotFound(given);
    return resolved;
  }
}

function checkGlobalEvents(isMultiRegionTrail: boolean, includeGlobalServiceEvents: boolean): void {
  if (isMultiRegionTrail && !includeGlobalServiceEvents) {
    throw trailErrors.invalidParameterCombination('Multi-Region trail must include global service events.');
  }
}

function selectorsOf(arn: string, basic: EventSelector[] | null, advanced: AdvancedEventSelector[] | null): TrailSelectors {
  if (advanced) return { trailArn: arn, advancedEventSelectors: advanced };
  return { trailArn: arn, eventSelectors: basic ?? defaultEventSelectors() };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function pick<K extends keyof TrailConfig>(config: TrailConfig, ...keys: K[]): Partial<Pick<TrailConfig, K>> {
  const out: Partial<Pick<TrailConfig, K>> = {};
  for (const k of keys) if (config[k] !== undefined) out[k] = config[k];
  return out;
}

function fail(e: Error): never {
  throw e;
}

function encodeToken(after: { name: string; region: string }): string {
  return Buffer.from(JSON.stringify(after)).toString('base64url');
}

function decodeToken(token: string): { name: string; region: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'name' in parsed &&
      'region' in parsed &&
      typeof parsed.name === 'string' &&
      typeof parsed.region === 'string'
    ) {
      return { name: parsed.name, region: parsed.region };
    }
  } catch {
    // Falls through to the error below.
  }
  throw trailErrors.invalidNextToken();
}
