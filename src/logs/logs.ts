/**
 * The CloudWatch Logs engine: log groups (retention on the injected clock, tags), log
 * streams, ingestion with PutLogEvents' batch rules, reads (GetLogEvents' forward and
 * backward tokens, FilterLogEvents with a filter pattern), metric filters that turn
 * matching events into metric data through a {@link MetricSink}, and subscription
 * filters that deliver matching events through a {@link LogDestination}. Nothing here
 * knows the wire; operations take and return plain objects.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { logsErrors } from './errors.js';
import type { MetricDimension, MetricSink } from './metrics.js';
import {
  compileFilterPattern,
  compileValueSelector,
  FilterPatternError,
  LogLine,
  type ExtractedValues,
  type FilterPattern,
  type ValueSelector,
} from './pattern/pattern.js';
import { isNumberText } from './pattern/compare.js';
import type {
  EventPosition,
  LogGroupRecord,
  LogStreamRecord,
  LogsStore,
  MetricFilterRecord,
  MetricTransformation,
  StoredLogEvent,
  SubscriptionFilterRecord,
} from './store.js';
import { encodeSubscriptionPayload, type LogDestination, type SubscriptionLogEvent } from './subscriptions.js';

/** Where a call happens: the caller's account and Region. */
export interface LogsScope {
  accountId: string;
  region: string;
}

/** The retention periods PutRetentionPolicy accepts, in days. */
export const RETENTION_DAYS: ReadonlySet<number> = new Set([
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
]);

const DAY = 86_400_000;
/** PutLogEvents refuses events older than this... */
export const MAX_EVENT_AGE_MS = 14 * DAY;
/** ...or further in the future than this... */
export const MAX_EVENT_FUTURE_MS = 2 * 3_600_000;
/** ...and batches spanning more than this. */
export const MAX_BATCH_SPAN_MS = DAY;
/** The most bytes one PutLogEvents batch may carry, counting each event's message plus 26 bytes. */
export const MAX_BATCH_BYTES = 1_048_576;
/** The per-event overhead in that count. */
export const EVENT_OVERHEAD_BYTES = 26;
/** The most events one PutLogEvents batch may carry. */
export const MAX_BATCH_EVENTS = 10_000;
/** CloudWatch Logs' quotas on filters and tags per log group. */
export const MAX_METRIC_FILTERS_PER_GROUP = 100;
/** At most two subscription filters per log group, as in CloudWatch Logs. */
export const MAX_SUBSCRIPTION_FILTERS_PER_GROUP = 2;
/** The most tags a log group may carry. */
export const MAX_TAGS = 50;
/** How many events one FilterLogEvents call examines before it returns a token to go on with. */
export const FILTER_SCAN_BUDGET = 100_000;

/** What the engine needs. */
export interface LogsDeps {
  store: LogsStore;
  clock: Clock;
  /** Where metric filters' data points go; without it metric filters count nothing. */
  metrics?: MetricSink;
  /** Where subscription filters deliver; without it PutSubscriptionFilter refuses every destination. */
  destinations?: LogDestination;
  logger?: Logger;
}

/** The log group as DescribeLogGroups shapes it. */
export interface LogGroupView {
  logGroupName: string;
  creationTime: number;
  retentionInDays?: number;
  metricFilterCount: number;
  arn: string;
  logGroupArn: string;
  storedBytes: number;
  logGroupClass: string;
  kmsKeyId?: string;
  deletionProtectionEnabled?: boolean;
}

/** The log stream as DescribeLogStreams shapes it. */
export interface LogStreamView {
  logStreamName: string;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  uploadSequenceToken: string;
  arn: string;
  storedBytes: number;
}

/** PutLogEvents' answer. */
export interface PutLogEventsResult {
  nextSequenceToken: string;
  rejectedLogEventsInfo?: { tooNewLogEventStartIndex?: number; tooOldLogEventEndIndex?: number; expiredLogEventEndIndex?: number };
}

/** Names a log group by name or by ARN (`logGroupIdentifier`). */
export interface GroupRef {
  logGroupName?: string;
  logGroupIdentifier?: string;
}

/** A metric filter as PutMetricFilter submits it. */
export interface PutMetricFilterInput {
  logGroupName: string;
  filterName: string;
  filterPattern: string;
  metricTransformations: MetricTransformation[];
}

/** A subscription filter as PutSubscriptionFilter submits it. */
export interface PutSubscriptionFilterInput {
  logGroupName: string;
  filterName: string;
  filterPattern: string;
  destinationArn: string;
  roleArn?: string;
  distribution?: string;
}

interface CompiledMetricFilter {
  pattern: FilterPattern;
  transformations: {
    t: MetricTransformation;
    value: number | ValueSelector;
    dimensions: { name: string; value: ValueSelector }[];
  }[];
}

/** The ARN of a log group, as CloudWatch Logs' `arn` field spells it (with `:*`). */
export function logGroupArn(region: string, accountId: string, name: string): string {
  return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
}

const GROUP_ARN = /^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([\.\-_/#A-Za-z0-9]+?)(:\*)?$/;

/** Parses a log group ARN (with or without `:*`). */
export function parseLogGroupArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = GROUP_ARN.exec(arn);
  if (!m) return undefined;
  return { region: m[1] ?? '', accountId: m[2] ?? '', name: m[3] ?? '' };
}

/** Opaque paging tokens for the Describe calls. */
function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeToken<T>(token: string, check: (v: unknown) => v is T): T {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (check(v)) return v;
  } catch {
    // fall through
  }
  throw logsErrors.invalidToken();
}

const isOffset = (v: unknown): v is { o: number } =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as { o?: unknown }).o) && ((v as { o: number }).o >= 0);
const isAfterName = (v: unknown): v is { n: string } => typeof v === 'object' && v !== null && typeof (v as { n?: unknown }).n === 'string';

/**
 * GetLogEvents' tokens, `f/` (forward) or `b/` (backward) and 40 digits: the position's
 * timestamp (offset by one so the start of the stream is representable) and event id.
 */
function encodePosition(direction: 'f' | 'b', pos: EventPosition): string {
  return `${direction}/${String(pos.timestamp + 1).padStart(20, '0')}${String(pos.id).padStart(20, '0')}`;
}

function decodePosition(token: string): { direction: 'f' | 'b'; pos: EventPosition } {
  const m = /^([fb])\/(\d{20})(\d{20})$/.exec(token);
  if (!m) throw logsErrors.invalidToken();
  return { direction: m[1] === 'f' ? 'f' : 'b', pos: { timestamp: Number(m[2]) - 1, id: Number(m[3]) } };
}

const STREAM_START: EventPosition = { timestamp: -1, id: 0 };
const STREAM_END: EventPosition = { timestamp: 99_999_999_999_999_999, id: 99_999_999_999_999_999 };

/** The sequence token after `uploads` PutLogEvents calls: digits, like CloudWatch Logs' own. */
function sequenceToken(stream: LogStreamRecord): string {
  return `49${String(stream.uploads).padStart(54, '0')}`;
}

function checkTags(tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) {
    if (key.length < 1 || key.length > 128) throw logsErrors.invalidParameter(`Tag key ${key} must be 1 to 128 characters long.`);
    if (value.length > 256) throw logsErrors.invalidParameter(`Tag value for ${key} must be at most 256 characters long.`);
    if (key.toLowerCase().startsWith('aws:')) throw logsErrors.invalidParameter('Tag keys beginning with aws: are reserved.');
  }
}

/**
 * The engine.
 *
 * @example
 * const logs = new Logs({ store: new SqliteLogsStore(db), clock: systemClock });
 * logs.createLogGroup(scope, { logGroupName: 'app' });
 */
export class Logs {
  private readonly store: LogsStore;
  private readonly compiled = new Map<string, FilterPattern>();
  private readonly compiledMetricFilters = new Map<string, CompiledMetricFilter>();
  private readonly deliveries = new Set<Promise<void>>();

  constructor(private readonly deps: LogsDeps) {
    this.store = deps.store;
  }

  // ------------------------------------------------------------------ patterns

  /** Compiles a pattern (cached), throwing InvalidParameterException worded for `what`. */
  compilePattern(text: string, what: 'metric filter' | 'subscription filter' | 'filter'): FilterPattern {
    const cached = this.compiled.get(text);
    if (cached) return cached;
    let pattern: FilterPattern;
    try {
      pattern = compileFilterPattern(text);
    } catch (e) {
      if (e instanceof FilterPatternError) throw logsErrors.invalidPattern(what, e.message);
      throw e;
    }
    if (this.compiled.size > 2_000) this.compiled.clear();
    this.compiled.set(text, pattern);
    return pattern;
  }

  /** TestMetricFilter: which messages match, numbered from 1, with what they extract. */
  testMetricFilter(filterPattern: string, messages: string[]): { eventNumber: number; eventMessage: string; extractedValues: ExtractedValues }[] {
    const pattern = this.compilePattern(filterPattern, 'metric filter');
    const out: { eventNumber: number; eventMessage: string; extractedValues: ExtractedValues }[] = [];
    messages.forEach((message, i) => {
      const extracted = pattern.match(new LogLine(message));
      if (extracted) out.push({ eventNumber: i + 1, eventMessage: message, extractedValues: { ...extracted } });
    });
    return out;
  }

  // ------------------------------------------------------------------ log groups

  createLogGroup(scope: LogsScope, input: { logGroupName: string; tags?: Record<string, string>; kmsKeyId?: string; logGroupClass?: string; deletionProtectionEnabled?: boolean }): LogGroupRecord {
    const tags = input.tags ?? {};
    checkTags(tags);
    if (Object.keys(tags).length > MAX_TAGS) throw logsErrors.invalidParameter(`A log group can have no more than ${MAX_TAGS} tags.`);
    return this.store.atomically(() => {
      if (this.store.findGroup(scope.accountId, scope.region, input.logGroupName)) throw logsErrors.groupExists();
      return this.store.insertGroup({
        accountId: scope.accountId,
        region: scope.region,
        name: input.logGroupName,
        createdAt: this.deps.clock.now(),
        ...(input.kmsKeyId !== undefined ? { kmsKeyId: input.kmsKeyId } : {}),
        logGroupClass: input.logGroupClass ?? 'STANDARD',
        deletionProtection: input.deletionProtectionEnabled ?? false,
        tags,
      });
    });
  }

  /** The group, or ResourceNotFoundException. */
  group(scope: LogsScope, name: string): LogGroupRecord {
    const group = this.store.findGroup(scope.accountId, scope.region, name);
    if (!group) throw logsErrors.groupNotFound();
    return group;
  }

  /** The group, or undefined. */
  findGroup(scope: LogsScope, name: string): LogGroupRecord | undefined {
    return this.store.findGroup(scope.accountId, scope.region, name);
  }

  /** Resolves `logGroupName` or `logGroupIdentifier` (a name or an ARN) to a group of the caller's. */
  resolveGroup(scope: LogsScope, ref: GroupRef): LogGroupRecord {
    if (ref.logGroupName !== undefined && ref.logGroupIdentifier !== undefined) {
      throw logsErrors.invalidParameter('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
    }
    if (ref.logGroupName !== undefined) return this.group(scope, ref.logGroupName);
    const id = ref.logGroupIdentifier;
    if (id === undefined) throw logsErrors.invalidParameter('Should provide either a LogGroup name or a LogGroup ARN.');
    if (!id.startsWith('arn:')) return this.group(scope, id);
    const arn = parseLogGroupArn(id);
    if (!arn || arn.accountId !== scope.accountId || arn.region !== scope.region) throw logsErrors.groupNotFound();
    return this.group(scope, arn.name);
  }

  deleteLogGroup(scope: LogsScope, name: string): void {
    this.store.atomically(() => {
      const group = this.group(scope, name);
      if (group.deletionProtection) {
        throw logsErrors.invalidOperation('Log group deletion protection is enabled. Disable deletion protection before deleting the log group.');
      }
      this.store.deleteGroup(group.id);
    });
  }

  describeLogGroups(
    scope: LogsScope,
    opts: { logGroupNamePrefix?: string; logGroupNamePattern?: string; limit?: number; nextToken?: string },
  ): { logGroups: LogGroupView[]; nextToken?: string } {
    if (opts.logGroupNamePrefix !== undefined && opts.logGroupNamePattern !== undefined) {
      throw logsErrors.invalidParameter('LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.');
    }
    const limit = opts.limit ?? 50;
    let afterName = opts.nextToken !== undefined ? decodeToken(opts.nextToken, isAfterName).n : undefined;
    const needle = opts.logGroupNamePattern?.toLowerCase();
    const groups: LogGroupRecord[] = [];
    // A pattern matches anywhere in the name, case-insensitively: filter pages until full.
    for (;;) {
      const page = this.store.listGroups(scope.accountId, scope.region, {
        ...(opts.logGroupNamePrefix !== undefined ? { prefix: opts.logGroupNamePrefix } : {}),
        ...(afterName !== undefined ? { afterName } : {}),
        limit: limit + 1,
      });
      for (const g of page) {
        if (needle === undefined || g.name.toLowerCase().includes(needle)) groups.push(g);
        if (groups.length > limit) break;
      }
      if (groups.length > limit || page.length <= limit) break;
      afterName = page[page.length - 1]?.name;
    }
    const shown = groups.slice(0, limit);
    const counts = new Map<number, number>();
    for (const f of this.store.listMetricFilters(scope.accountId, scope.region)) counts.set(f.groupId, (counts.get(f.groupId) ?? 0) + 1);
    const last = shown[shown.length - 1];
    return {
      logGroups: shown.map((g) => this.groupView(g, counts.get(g.id) ?? 0)),
      ...(groups.length > limit && last ? { nextToken: encodeToken({ n: last.name }) } : {}),
    };
  }

  private groupView(g: LogGroupRecord, metricFilterCount: number): LogGroupView {
    const arn = logGroupArn(g.region, g.accountId, g.name);
    return {
      logGroupName: g.name,
      creationTime: g.createdAt,
      ...(g.retentionInDays !== undefined ? { retentionInDays: g.retentionInDays } : {}),
      metricFilterCount,
      arn,
      logGroupArn: arn.slice(0, -2),
      storedBytes: g.storedBytes,
      logGroupClass: g.logGroupClass,
      ...(g.kmsKeyId !== undefined ? { kmsKeyId: g.kmsKeyId } : {}),
      ...(g.deletionProtection ? { deletionProtectionEnabled: true } : {}),
    };
  }

  putRetentionPolicy(scope: LogsScope, name: string, days: number): void {
    if (!RETENTION_DAYS.has(days)) {
      throw logsErrors.invalidParameter(
        `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${[...RETENTION_DAYS].join(', ')}]`,
      );
    }
    this.store.atomically(() => {
      const group = this.group(scope, name);
      this.store.updateGroup({ ...group, retentionInDays: days });
    });
  }

  deleteRetentionPolicy(scope: LogsScope, name: string): void {
    this.store.atomically(() => {
      const group = this.group(scope, name);
      const rest: LogGroupRecord = { ...group };
      delete rest.retentionInDays;
      this.store.updateGroup(rest);
    });
  }

  /** Deletes the events every group's retention has expired by the clock; returns how many. */
  applyRetention(): number {
    const now = this.deps.clock.now();
    let deleted = 0;
    for (const group of this.store.listGroupsWithRetention()) {
      if (group.retentionInDays === undefined) continue;
      const cutoff = now - group.retentionInDays * DAY;
      deleted += this.store.atomically(() => this.store.deleteEventsBefore(group.id, cutoff).count);
    }
    return deleted;
  }

  // ------------------------------------------------------------------ tags

  /** The group a tagging ARN names (log groups are the taggable resource Cairn keeps). */
  private taggedGroup(scope: LogsScope, resourceArn: string): LogGroupRecord {
    const arn = parseLogGroupArn(resourceArn);
    if (!arn || arn.accountId !== scope.accountId || arn.region !== scope.region) {
      throw logsErrors.resourceNotFound(`The specified resource does not exist: ${resourceArn}`);
    }
    return this.group(scope, arn.name);
  }

  tagLogGroup(scope: LogsScope, name: string, tags: Record<string, string>): void {
    this.tag(scope, () => this.group(scope, name), tags);
  }

  tagResource(scope: LogsScope, resourceArn: string, tags: Record<string, string>): void {
    this.tag(scope, () => this.taggedGroup(scope, resourceArn), tags);
  }

  private tag(_scope: LogsScope, find: () => LogGroupRecord, tags: Record<string, string>): void {
    checkTags(tags);
    this.store.atomically(() => {
      const group = find();
      const merged = { ...group.tags, ...tags };
      if (Object.keys(merged).length > MAX_TAGS) throw logsErrors.tooManyTags(`A resource can have no more than ${MAX_TAGS} tags.`);
      this.store.updateGroup({ ...group, tags: merged });
    });
  }

  untagLogGroup(scope: LogsScope, name: string, keys: string[]): void {
    this.untag(() => this.group(scope, name), keys);
  }

  untagResource(scope: LogsScope, resourceArn: string, keys: string[]): void {
    this.untag(() => this.taggedGroup(scope, resourceArn), keys);
  }

  private untag(find: () => LogGroupRecord, keys: string[]): void {
    this.store.atomically(() => {
      const group = find();
      const tags = { ...group.tags };
      for (const k of keys) delete tags[k];
      this.store.updateGroup({ ...group, tags });
    });
  }

  listTagsLogGroup(scope: LogsScope, name: string): Record<string, string> {
    return { ...this.group(scope, name).tags };
  }

  listTagsForResource(scope: LogsScope, resourceArn: string): Record<string, string> {
    return { ...this.taggedGroup(scope, resourceArn).tags };
  }

  // ------------------------------------------------------------------ log streams

  createLogStream(scope: LogsScope, groupName: string, streamName: string): LogStreamRecord {
    return this.store.atomically(() => {
      const group = this.group(scope, groupName);
      if (this.store.findStream(group.id, streamName)) throw logsErrors.streamExists();
      return this.store.insertStream({ groupId: group.id, name: streamName, createdAt: this.deps.clock.now() });
    });
  }

  deleteLogStream(scope: LogsScope, groupName: string, streamName: string): void {
    this.store.atomically(() => {
      const group = this.group(scope, groupName);
      const stream = this.store.findStream(group.id, streamName);
      if (!stream) throw logsErrors.streamNotFound();
      this.store.deleteStream(stream.id);
    });
  }

  describeLogStreams(
    scope: LogsScope,
    ref: GroupRef,
    opts: { logStreamNamePrefix?: string; orderBy?: string; descending?: boolean; limit?: number; nextToken?: string },
  ): { logStreams: LogStreamView[]; nextToken?: string } {
    const orderBy = opts.orderBy === 'LastEventTime' ? 'LastEventTime' : 'LogStreamName';
    if (orderBy === 'LastEventTime' && opts.logStreamNamePrefix !== undefined) {
      throw logsErrors.invalidParameter('Cannot order by LastEventTime with a logStreamNamePrefix.');
    }
    const group = this.resolveGroup(scope, ref);
    const limit = opts.limit ?? 50;
    const offset = opts.nextToken !== undefined ? decodeToken(opts.nextToken, isOffset).o : 0;
    const page = this.store.listStreams(group.id, {
      ...(opts.logStreamNamePrefix !== undefined ? { prefix: opts.logStreamNamePrefix } : {}),
      orderBy,
      descending: opts.descending ?? false,
      offset,
      limit: limit + 1,
    });
    return {
      logStreams: page.slice(0, limit).map((s) => this.streamView(group, s)),
      ...(page.length > limit ? { nextToken: encodeToken({ o: offset + limit }) } : {}),
    };
  }

  private streamView(group: LogGroupRecord, s: LogStreamRecord): LogStreamView {
    return {
      logStreamName: s.name,
      creationTime: s.createdAt,
      ...(s.firstEventTimestamp !== undefined ? { firstEventTimestamp: s.firstEventTimestamp } : {}),
      ...(s.lastEventTimestamp !== undefined ? { lastEventTimestamp: s.lastEventTimestamp } : {}),
      ...(s.lastIngestionTime !== undefined ? { lastIngestionTime: s.lastIngestionTime } : {}),
      uploadSequenceToken: sequenceToken(s),
      arn: `arn:aws:logs:${group.region}:${group.accountId}:log-group:${group.name}:log-stream:${s.name}`,
      // Deprecated by AWS and always 0 there too.
      storedBytes: 0,
    };
  }

  // ------------------------------------------------------------------ ingestion

  /**
   * PutLogEvents. Sequence tokens are accepted and ignored, as CloudWatch Logs does now.
   * Events too old, expired or too new are left out and reported; a batch out of
   * chronological order, spanning more than 24 hours or over 1 MB is refused.
   */
  putLogEvents(scope: LogsScope, groupName: string, streamName: string, events: { timestamp: number; message: string }[]): PutLogEventsResult {
    if (events.length === 0) throw logsErrors.invalidParameter('The log events in the batch must not be empty.');
    if (events.length > MAX_BATCH_EVENTS) throw logsErrors.invalidParameter(`The batch of log events can contain at most ${MAX_BATCH_EVENTS} events.`);
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const prev = events[i - 1];
      if (!e) continue;
      bytes += Buffer.byteLength(e.message) + EVENT_OVERHEAD_BYTES;
      if (prev && e.timestamp < prev.timestamp) {
        throw logsErrors.invalidParameter('Log events in a single PutLogEvents request must be in chronological order.');
      }
    }
    if (bytes > MAX_BATCH_BYTES) throw logsErrors.invalidParameter(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    const first = events[0]?.timestamp ?? 0;
    const last = events[events.length - 1]?.timestamp ?? 0;
    if (last - first > MAX_BATCH_SPAN_MS) {
      throw logsErrors.invalidParameter('The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
    }
    const now = this.deps.clock.now();
    return this.store.atomically(() => {
      const group = this.group(scope, groupName);
      const stream = this.store.findStream(group.id, streamName);
      if (!stream) throw logsErrors.streamNotFound();
      const retentionCutoff = group.retentionInDays !== undefined ? now - group.retentionInDays * DAY : -Infinity;
      let tooOld: number | undefined;
      let expired: number | undefined;
      let tooNew: number | undefined;
      const accepted: { timestamp: number; message: string }[] = [];
      events.forEach((e, i) => {
        if (e.timestamp > now + MAX_EVENT_FUTURE_MS) tooNew ??= i;
        else if (e.timestamp < now - MAX_EVENT_AGE_MS) tooOld = i;
        else if (e.timestamp < retentionCutoff) expired = i;
        else accepted.push(e);
      });
      const updated = this.append(group, stream, accepted, now);
      const rejected = {
        ...(tooNew !== undefined ? { tooNewLogEventStartIndex: tooNew } : {}),
        ...(tooOld !== undefined ? { tooOldLogEventEndIndex: tooOld } : {}),
        ...(expired !== undefined ? { expiredLogEventEndIndex: expired } : {}),
      };
      return {
        nextSequenceToken: sequenceToken(updated),
        ...(Object.keys(rejected).length > 0 ? { rejectedLogEventsInfo: rejected } : {}),
      };
    });
  }

  /**
   * Appends events to a stream, creating the stream if needed, without PutLogEvents'
   * batch rules: for Cairn's own producers (a trail's events). Runs inside the caller's
   * transaction when there is one, so a consumer can commit its cursor with the events.
   */
  ingest(group: LogGroupRecord, streamName: string, events: { timestamp: number; message: string }[]): void {
    this.store.atomically(() => {
      const stream =
        this.store.findStream(group.id, streamName) ?? this.store.insertStream({ groupId: group.id, name: streamName, createdAt: this.deps.clock.now() });
      this.append(group, stream, events, this.deps.clock.now());
    });
  }

  private append(group: LogGroupRecord, stream: LogStreamRecord, events: { timestamp: number; message: string }[], now: number): LogStreamRecord {
    const updated: LogStreamRecord = { ...stream, uploads: stream.uploads + 1 };
    if (events.length > 0) {
      const stored = this.store.insertEvents(group.id, stream, events, now);
      const first = Math.min(...events.map((e) => e.timestamp));
      const last = Math.max(...events.map((e) => e.timestamp));
      updated.firstEventTimestamp = Math.min(stream.firstEventTimestamp ?? first, first);
      updated.lastEventTimestamp = Math.max(stream.lastEventTimestamp ?? last, last);
      updated.lastIngestionTime = now;
      this.afterIngest(group, stream, stored);
    }
    this.store.updateStream(updated);
    return updated;
  }

  /** Runs the group's metric and subscription filters over newly stored events. */
  private afterIngest(group: LogGroupRecord, stream: LogStreamRecord, stored: StoredLogEvent[]): void {
    const metricFilters = this.deps.metrics ? this.store.listMetricFilters(group.accountId, group.region, group.id) : [];
    const subscriptions = this.store.listSubscriptionFilters(group.id);
    if (metricFilters.length === 0 && subscriptions.length === 0) return;
    // One parse per event, shared by every filter.
    const lines = stored.map((e) => new LogLine(e.message));
    for (const filter of metricFilters) this.emitMetrics(group, filter, stored, lines);
    for (const sub of subscriptions) this.deliverSubscription(group, stream, sub, stored, lines);
  }

  private compileMetricFilter(filter: MetricFilterRecord): CompiledMetricFilter {
    const key = JSON.stringify([filter.pattern, filter.transformations]);
    const cached = this.compiledMetricFilters.get(key);
    if (cached) return cached;
    const compiled: CompiledMetricFilter = {
      pattern: this.compilePattern(filter.pattern, 'metric filter'),
      transformations: filter.transformations.map((t) => ({
        t,
        value: isNumberText(t.metricValue) ? Number(t.metricValue) : compileValueSelector(t.metricValue),
        dimensions: Object.entries(t.dimensions ?? {}).map(([name, value]) => ({ name, value: compileValueSelector(value) })),
      })),
    };
    if (this.compiledMetricFilters.size > 2_000) this.compiledMetricFilters.clear();
    this.compiledMetricFilters.set(key, compiled);
    return compiled;
  }

  private emitMetrics(group: LogGroupRecord, filter: MetricFilterRecord, events: StoredLogEvent[], lines: LogLine[]): void {
    const sink = this.deps.metrics;
    if (!sink) return;
    const compiled = this.compileMetricFilter(filter);
    events.forEach((event, i) => {
      const line = lines[i];
      if (!line) return;
      const extracted = compiled.pattern.match(line);
      for (const { t, value, dimensions } of compiled.transformations) {
        if (!extracted) {
          // A default value is reported for every event that does not match.
          if (t.defaultValue !== undefined) {
            sink.put(group.accountId, group.region, t.metricNamespace, t.metricName, [], t.defaultValue, t.unit, event.timestamp);
          }
          continue;
        }
        const raw = typeof value === 'number' ? value : value(line, extracted);
        const n = typeof raw === 'number' ? raw : typeof raw === 'string' && isNumberText(raw) ? Number(raw) : undefined;
        if (n === undefined || !Number.isFinite(n)) continue;
        const dims: MetricDimension[] = [];
        let complete = true;
        for (const d of dimensions) {
          const v = d.value(line, extracted);
          if (v === undefined || v === '') complete = false;
          else dims.push({ name: d.name, value: String(v) });
        }
        if (!complete) continue;
        sink.put(group.accountId, group.region, t.metricNamespace, t.metricName, dims, n, t.unit, event.timestamp);
      }
    });
  }

  private deliverSubscription(group: LogGroupRecord, stream: LogStreamRecord, sub: SubscriptionFilterRecord, events: StoredLogEvent[], lines: LogLine[]): void {
    const destinations = this.deps.destinations;
    if (!destinations) return;
    const pattern = this.compilePattern(sub.pattern, 'subscription filter');
    const matched: SubscriptionLogEvent[] = [];
    events.forEach((event, i) => {
      const line = lines[i];
      const extracted = line ? pattern.match(line) : undefined;
      if (!extracted) return;
      const fields = Object.entries(extracted);
      matched.push({
        id: eventId(event),
        timestamp: event.timestamp,
        message: event.message,
        ...(fields.length > 0 ? { extractedFields: Object.fromEntries(fields.map(([k, v]) => [k.replace(/^\$/, ''), v])) } : {}),
      });
    });
    if (matched.length === 0) return;
    const payload = encodeSubscriptionPayload({
      messageType: 'DATA_MESSAGE',
      owner: group.accountId,
      logGroup: group.name,
      logStream: stream.name,
      subscriptionFilters: [sub.name],
      logEvents: matched,
    });
    // Delivery happens after the write, as CloudWatch Logs streams asynchronously.
    const done = destinations
      .deliver(sub.destinationArn, payload)
      .catch((e: unknown) => this.deps.logger?.warn({ err: e, destinationArn: sub.destinationArn, filterName: sub.name }, 'subscription delivery failed'))
      .finally(() => this.deliveries.delete(done));
    this.deliveries.add(done);
  }

  /** Resolves once every subscription delivery started so far has finished. */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  // ------------------------------------------------------------------ reads

  getLogEvents(
    scope: LogsScope,
    ref: GroupRef,
    opts: { logStreamName: string; startTime?: number; endTime?: number; nextToken?: string; limit?: number; startFromHead?: boolean },
  ): { events: { timestamp: number; message: string; ingestionTime: number }[]; nextForwardToken: string; nextBackwardToken: string } {
    const group = this.resolveGroup(scope, ref);
    const stream = this.store.findStream(group.id, opts.logStreamName);
    if (!stream) throw logsErrors.streamNotFound();
    const limit = opts.limit ?? 10_000;
    const range = {
      ...(opts.startTime !== undefined ? { startTime: opts.startTime } : {}),
      ...(opts.endTime !== undefined ? { endTime: opts.endTime } : {}),
    };
    let events: StoredLogEvent[];
    let at: EventPosition;
    if (opts.nextToken !== undefined) {
      const { direction, pos } = decodePosition(opts.nextToken);
      at = pos;
      events =
        direction === 'f'
          ? this.store.readStream(stream.id, { ...range, from: pos, limit })
          : this.store.readStream(stream.id, { ...range, from: pos, descending: true, limit }).reverse();
    } else if (opts.startFromHead === true) {
      at = STREAM_START;
      events = this.store.readStream(stream.id, { ...range, limit });
    } else {
      at = STREAM_END;
      events = this.store.readStream(stream.id, { ...range, descending: true, limit }).reverse();
    }
    const first = events[0];
    const last = events[events.length - 1];
    // With nothing new, the same position comes back: clients stop when a token repeats.
    return {
      events: events.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      nextForwardToken: encodePosition('f', last ? { timestamp: last.timestamp, id: last.id } : at),
      nextBackwardToken: encodePosition('b', first ? { timestamp: first.timestamp, id: first.id } : at),
    };
  }

  filterLogEvents(
    scope: LogsScope,
    ref: GroupRef,
    opts: {
      logStreamNames?: string[];
      logStreamNamePrefix?: string;
      startTime?: number;
      endTime?: number;
      filterPattern?: string;
      nextToken?: string;
      limit?: number;
    },
  ): {
    events: { logStreamName: string; timestamp: number; message: string; ingestionTime: number; eventId: string }[];
    searchedLogStreams: { logStreamName: string; searchedCompletely: boolean }[];
    nextToken?: string;
  } {
    if (opts.logStreamNames !== undefined && opts.logStreamNamePrefix !== undefined) {
      throw logsErrors.invalidParameter('logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
    }
    const pattern = this.compilePattern(opts.filterPattern ?? '', 'filter');
    const group = this.resolveGroup(scope, ref);
    let streams: LogStreamRecord[] | undefined;
    if (opts.logStreamNames !== undefined) {
      streams = opts.logStreamNames.map((n) => this.store.findStream(group.id, n)).filter((s): s is LogStreamRecord => s !== undefined);
    } else if (opts.logStreamNamePrefix !== undefined) {
      streams = this.store.listStreams(group.id, { prefix: opts.logStreamNamePrefix, orderBy: 'LogStreamName', descending: false, offset: 0, limit: 1_000_000 });
    }
    const limit = opts.limit ?? 10_000;
    let from = opts.nextToken !== undefined ? decodePosition(opts.nextToken).pos : undefined;
    const out: StoredLogEvent[] = [];
    let scanned = 0;
    let exhausted = false;
    // Pages through the group in (timestamp, id) order until the limit fills, the events
    // run out, or the scan budget is spent (then the token says where to go on).
    while (out.length < limit && scanned < FILTER_SCAN_BUDGET) {
      const page = this.store.readGroup(group.id, {
        ...(opts.startTime !== undefined ? { startTime: opts.startTime } : {}),
        ...(opts.endTime !== undefined ? { endTime: opts.endTime } : {}),
        ...(from ? { from } : {}),
        ...(streams ? { streamIds: streams.map((s) => s.id) } : {}),
        limit: 1_000,
      });
      let consumed = 0;
      for (const e of page) {
        scanned++;
        consumed++;
        from = { timestamp: e.timestamp, id: e.id };
        if (pattern.test(new LogLine(e.message))) {
          out.push(e);
          if (out.length >= limit) break;
        }
      }
      if (page.length < 1_000 && consumed === page.length) {
        exhausted = true;
        break;
      }
    }
    const searched = (streams ?? []).map((s) => ({ logStreamName: s.name, searchedCompletely: exhausted }));
    return {
      events: out.map((e) => ({ logStreamName: e.streamName, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: eventId(e) })),
      searchedLogStreams: searched,
      ...(!exhausted && from ? { nextToken: encodePosition('f', from) } : {}),
    };
  }

  // ------------------------------------------------------------------ metric filters

  putMetricFilter(scope: LogsScope, input: PutMetricFilterInput): void {
    const pattern = this.compilePattern(input.filterPattern, 'metric filter');
    for (const t of input.metricTransformations) this.checkTransformation(t, pattern);
    this.store.atomically(() => {
      const group = this.group(scope, input.logGroupName);
      const existing = this.store.listMetricFilters(scope.accountId, scope.region, group.id);
      if (!existing.some((f) => f.name === input.filterName) && existing.length >= MAX_METRIC_FILTERS_PER_GROUP) throw logsErrors.limitExceeded();
      this.store.putMetricFilter({
        groupId: group.id,
        groupName: group.name,
        name: input.filterName,
        pattern: input.filterPattern,
        transformations: input.metricTransformations,
        createdAt: this.deps.clock.now(),
      });
    });
  }

  private checkTransformation(t: MetricTransformation, pattern: FilterPattern): void {
    const checkField = (text: string, what: string): void => {
      try {
        compileValueSelector(text);
      } catch (e) {
        if (e instanceof FilterPatternError) throw logsErrors.invalidParameter(`Invalid ${what}: ${e.message}`);
        throw e;
      }
      if (/^\$[A-Za-z0-9_]+$/.test(text) && !pattern.fieldNames.includes(text.slice(1))) {
        throw logsErrors.invalidParameter(`Invalid ${what}: ${text} is not a field of the filter pattern`);
      }
    };
    if (!isNumberText(t.metricValue)) checkField(t.metricValue, 'metric value');
    const dims = Object.entries(t.dimensions ?? {});
    if (dims.length > 3) throw logsErrors.invalidParameter('A metric transformation can have at most 3 dimensions.');
    for (const [, value] of dims) {
      if (!value.startsWith('$')) throw logsErrors.invalidParameter(`Invalid dimension value: ${value} must be a field of the log event`);
      checkField(value, 'dimension value');
    }
    if (dims.length > 0 && t.defaultValue !== undefined) {
      throw logsErrors.invalidParameter('A metric transformation with dimensions cannot have a default value.');
    }
  }

  describeMetricFilters(
    scope: LogsScope,
    opts: { logGroupName?: string; filterNamePrefix?: string; metricName?: string; metricNamespace?: string; limit?: number; nextToken?: string },
  ): { metricFilters: MetricFilterRecord[]; nextToken?: string } {
    if (opts.filterNamePrefix !== undefined && opts.logGroupName === undefined) {
      throw logsErrors.invalidParameter('A filterNamePrefix requires a logGroupName.');
    }
    if ((opts.metricName === undefined) !== (opts.metricNamespace === undefined)) {
      throw logsErrors.invalidParameter('metricName and metricNamespace must be given together.');
    }
    const group = opts.logGroupName !== undefined ? this.group(scope, opts.logGroupName) : undefined;
    const all = this.store
      .listMetricFilters(scope.accountId, scope.region, group?.id)
      .filter((f) => opts.filterNamePrefix === undefined || f.name.startsWith(opts.filterNamePrefix))
      .filter(
        (f) =>
          opts.metricName === undefined ||
          f.transformations.some((t) => t.metricName === opts.metricName && t.metricNamespace === opts.metricNamespace),
      );
    const limit = opts.limit ?? 50;
    const offset = opts.nextToken !== undefined ? decodeToken(opts.nextToken, isOffset).o : 0;
    return {
      metricFilters: all.slice(offset, offset + limit),
      ...(offset + limit < all.length ? { nextToken: encodeToken({ o: offset + limit }) } : {}),
    };
  }

  deleteMetricFilter(scope: LogsScope, groupName: string, filterName: string): void {
    this.store.atomically(() => {
      const group = this.group(scope, groupName);
      if (!this.store.deleteMetricFilter(group.id, filterName)) throw logsErrors.metricFilterNotFound();
    });
  }

  // ------------------------------------------------------------------ subscription filters

  async putSubscriptionFilter(scope: LogsScope, input: PutSubscriptionFilterInput): Promise<void> {
    this.compilePattern(input.filterPattern, 'subscription filter');
    this.group(scope, input.logGroupName);
    const destinations = this.deps.destinations;
    if (!destinations || !(await destinations.exists(input.destinationArn))) {
      throw logsErrors.invalidParameter('Could not deliver test message to specified destination. Check if the destination is valid.');
    }
    this.store.atomically(() => {
      const group = this.group(scope, input.logGroupName);
      const existing = this.store.listSubscriptionFilters(group.id);
      if (!existing.some((f) => f.name === input.filterName) && existing.length >= MAX_SUBSCRIPTION_FILTERS_PER_GROUP) {
        throw logsErrors.limitExceeded();
      }
      this.store.putSubscriptionFilter({
        groupId: group.id,
        groupName: group.name,
        name: input.filterName,
        pattern: input.filterPattern,
        destinationArn: input.destinationArn,
        ...(input.roleArn !== undefined ? { roleArn: input.roleArn } : {}),
        distribution: input.distribution ?? 'ByLogStream',
        createdAt: this.deps.clock.now(),
      });
    });
  }

  describeSubscriptionFilters(
    scope: LogsScope,
    opts: { logGroupName: string; filterNamePrefix?: string; limit?: number; nextToken?: string },
  ): { subscriptionFilters: SubscriptionFilterRecord[]; nextToken?: string } {
    const group = this.group(scope, opts.logGroupName);
    const all = this.store.listSubscriptionFilters(group.id).filter((f) => opts.filterNamePrefix === undefined || f.name.startsWith(opts.filterNamePrefix));
    const limit = opts.limit ?? 50;
    const offset = opts.nextToken !== undefined ? decodeToken(opts.nextToken, isOffset).o : 0;
    return {
      subscriptionFilters: all.slice(offset, offset + limit),
      ...(offset + limit < all.length ? { nextToken: encodeToken({ o: offset + limit }) } : {}),
    };
  }

  deleteSubscriptionFilter(scope: LogsScope, groupName: string, filterName: string): void {
    this.store.atomically(() => {
      const group = this.group(scope, groupName);
      if (!this.store.deleteSubscriptionFilter(group.id, filterName)) throw logsErrors.subscriptionFilterNotFound();
    });
  }
}

/** An event's id as FilterLogEvents and subscriptions show it: a long string of digits. */
function eventId(e: StoredLogEvent): string {
  return `${String(e.timestamp).padStart(20, '0')}${String(e.id).padStart(36, '0')}`;
}
