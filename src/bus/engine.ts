/**
 * The event bus: rules and targets per account, Region and bus; the consumer that puts
 * every logged CloudTrail record on its account's default bus; PutEvents; schedules; and
 * delivery to targets.
 *
 * Putting an event on the bus means matching it against the bus's rules (one compiled
 * {@link PatternIndex} per bus) and writing one outbox entry per target of each matched
 * rule, with the target's input already rendered. The consumer reads the event log after
 * its cursor and commits a batch's outbox entries together with the new cursor in one
 * transaction, so across crashes and restarts every record is put on the bus exactly
 * once. Deliveries leave the outbox only once made (or given up on), so targets see each
 * event at least once, as in AWS. The consumer wakes on the log's `onAppend`, so an event
 * reaches its targets milliseconds after the call that caused it.
 */
import type { CursorStore, EventLog, StoredEvent } from '../eventlog/eventlog.js';
import { throttled } from '../platform/throttle.js';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { FailureOutcome } from '../platform/telemetry.js';
import { cloudTrailEvent, eventTime, isReadOnlyManagementCall, type BusEvent } from './envelope.js';
import { eventsErrors } from './errors.js';
import { PatternIndex } from './matcher.js';
import { compilePattern, PatternError, type CompiledPattern } from './pattern.js';
import { nextFireTime, parseSchedule, type Schedule } from './schedule.js';
import type {
  ApiDestinationRecord,
  BusRecord,
  BusStore,
  ConnectionRecord,
  NewOutboxEntry,
  OutboxEntry,
  RuleRecord,
  RuleState,
  Scope,
  TargetSpec,
} from './store.js';
import { parseArn, TargetSender, type DeliverySource, type ParsedArn, type TargetClients } from './targets.js';
import { isValidJsonPath, targetInput } from './transform.js';

/** The bus consumer's name in the event log's cursor store. */
export const BUS_CONSUMER = 'bus';
/** The bus every account has, which CloudTrail's events go to. */
export const DEFAULT_BUS = 'default';
/** Most targets a rule may have. */
export const MAX_TARGETS_PER_RULE = 5;
/** AWS's PutEvents request size limit. */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

const READ_PAGE = 500;
/** Under load, the log is read at most this often on append wake-ups (ms): one pass takes many commits. */
const APPEND_WAKE_MS = 5;
const DELIVERY_BATCH = 64;
const DEFAULT_MAX_ATTEMPTS = 185;
const DEFAULT_MAX_AGE_S = 86_400;
/** Missed schedule periods fired at once after downtime; older ones are skipped. */
const MAX_CATCH_UP_FIRES = 10;

/** What the engine needs. */
export interface EventBusEngineOptions {
  store: BusStore;
  clock: Clock;
  random: RandomSource;
  /** Told of each failed target delivery (the server's metrics). */
  targetFailed?: (outcome: FailureOutcome) => void;
  logger?: Logger;
  /** The event log whose records go onto the default buses; none in unit tests of the API alone. */
  log?: Pick<EventLog, 'readAfter' | 'lastSeq' | 'onAppend'>;
  /** Where the bus's cursor is mirrored, so retention never purges an event the bus has not read. */
  cursors?: CursorStore;
  targets?: TargetClients;
  /**
   * Whether a data event goes on the bus: CloudTrail sends data events to EventBridge only
   * when a trail logs them. All do when not given.
   */
  acceptDataEvent?: (event: StoredEvent) => boolean;
  /** Retry backoff: base delay (1 s) doubling per attempt up to the maximum (60 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Timeout of one HTTP delivery (5 s, as API destinations). */
  httpTimeoutMs?: number;
}

interface CachedRule {
  record: RuleRecord;
  pattern?: CompiledPattern;
  schedule?: Schedule;
  targets: TargetSpec[];
}

interface CachedBus {
  rules: Map<string, CachedRule>;
  index: PatternIndex<string>;
}

/** What PutRule takes. */
export interface PutRuleInput {
  name: string;
  bus?: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state?: RuleState;
  description?: string;
  roleArn?: string;
}

/** One entry of PutEvents. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: Date;
  EventBusName?: string;
}

/** One entry's result: its event id, or why it was refused. */
export type PutEventsResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** A page of names or records and the token for the next one. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

function busKey(scope: Scope, bus: string): string {
  return `${scope.accountId}\u0000${scope.region}\u0000${bus}`;
}

function page<T>(items: T[], keyOf: (t: T) => string, limit: number | undefined, token: string | undefined): Page<T> {
  const after = token !== undefined ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
  if (token !== undefined && !after) throw eventsErrors.validation('The NextToken provided is invalid.');
  const rest = after !== undefined ? items.filter((i) => keyOf(i) > after) : items;
  const n = limit ?? 100;
  const slice = rest.slice(0, n);
  const last = slice[slice.length - 1];
  return rest.length > n && last ? { items: slice, nextToken: Buffer.from(keyOf(last)).toString('base64url') } : { items: slice };
}

/**
 * The engine.
 *
 * @example
 * const bus = new EventBusEngine({ store: new SqliteBusStore(db), clock, random, log, targets: { queues } });
 * bus.start();                      // follows the event log
 * bus.putRule(scope, { name: 'iam-changes', eventPattern: '{"source":["aws.iam"]}' });
 * await bus.idle();                 // tests: everything logged so far delivered (or retrying)
 */
export class EventBusEngine {
  private buses = new Map<string, CachedBus>();
  private loaded = false;
  private readonly sender: TargetSender;
  private unsubscribe: (() => void) | undefined;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private readonly appendWake = throttled(() => this.kickPump(), APPEND_WAKE_MS);
  private delivering: Promise<void> | undefined;
  private deliverAgain = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly opts: EventBusEngineOptions) {
    this.sender = new TargetSender(
      opts.targets ?? {},
      {
        apiDestination: (arn) => this.resolveApiDestination(arn),
        putOnBus: async (arn, event) => this.forwardToBus(arn, event),
      },
      opts.httpTimeoutMs,
    );
  }

  // ---------------------------------------------------------------- lifecycle

  /** Follows the event log from the bus's cursor: catches up now, then on every append. */
  start(): void {
    const log = this.opts.log;
    if (!log || this.unsubscribe) return;
    this.unsubscribe = log.onAppend(() => this.appendWake.kick());
    this.kickPump();
    this.kickDelivery();
  }

  /** Stops following the log and waits for work in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.appendWake.cancel();
    await this.pumping;
    await this.delivering;
    await Promise.all(this.inFlight);
  }

  /**
   * The periodic wake-up (the server's jobs call it every second): fires due schedules,
   * retries due deliveries, and catches up with the log should a wake-up have been missed.
   */
  async tick(): Promise<void> {
    this.fireSchedules();
    this.kickPump();
    this.kickDelivery();
    await this.pumping;
    await this.delivering;
  }

  /** Resolves once everything logged so far is on the bus and every due delivery has been attempted. */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      this.kickPump();
      await this.pumping;
      this.kickDelivery();
      await this.delivering;
      const log = this.opts.log;
      const caughtUp = !log || this.opts.store.cursor() >= log.lastSeq();
      const next = this.opts.store.nextDeliveryAt();
      if (caughtUp && (next === undefined || next > this.opts.clock.now()) && !this.pumping && !this.delivering) return;
    }
  }

  /** The bus's cursor in the event log (everything up to it is on the bus). */
  cursor(): number {
    return this.opts.store.cursor();
  }

  /** Deliveries not yet made (including those waiting for a retry). */
  pendingDeliveries(): number {
    return this.opts.store.outboxSize();
  }

  // ---------------------------------------------------------------- buses

  private ensureDefaultBus(scope: Scope): BusRecord {
    const existing = this.opts.store.getBus(scope, DEFAULT_BUS);
    if (existing) return existing;
    const now = this.opts.clock.now();
    const bus: BusRecord = { ...scope, name: DEFAULT_BUS, arn: this.busArn(scope, DEFAULT_BUS), createdAt: now, modifiedAt: now };
    this.opts.store.putBus(bus);
    return bus;
  }

  private busArn(scope: Scope, name: string): string {
    return `arn:aws:events:${scope.region}:${scope.accountId}:event-bus/${name}`;
  }

  /** The bus name an `EventBusName` (name or ARN, default when absent) refers to. */
  busName(nameOrArn: string | undefined): string {
    if (nameOrArn === undefined) return DEFAULT_BUS;
    const m = /^arn:aws[\w-]*:events:[^:]+:\d{12}:event-bus\/(.+)$/.exec(nameOrArn);
    return m?.[1] ?? nameOrArn;
  }

  /** The bus, which must exist (the default bus always does). */
  getBus(scope: Scope, nameOrArn: string | undefined): BusRecord {
    const name = this.busName(nameOrArn);
    if (name === DEFAULT_BUS) return this.ensureDefaultBus(scope);
    const bus = this.opts.store.getBus(scope, name);
    if (!bus) throw eventsErrors.busNotFound(name);
    return bus;
  }

  /** Every bus of the scope, the default one first among names. */
  listBuses(scope: Scope, namePrefix: string | undefined, limit?: number, token?: string): Page<BusRecord> {
    this.ensureDefaultBus(scope);
    const all = this.opts.store.listBuses(scope).filter((b) => namePrefix === undefined || b.name.startsWith(namePrefix));
    return page(all, (b) => b.name, limit, token);
  }

  createBus(scope: Scope, name: string, description?: string): BusRecord {
    if (name === DEFAULT_BUS || this.opts.store.getBus(scope, name)) throw eventsErrors.busExists(name);
    if (name.includes('/')) throw eventsErrors.validation("Event bus name must not contain '/'.");
    const now = this.opts.clock.now();
    const bus: BusRecord = { ...scope, name, arn: this.busArn(scope, name), createdAt: now, modifiedAt: now, ...(description !== undefined ? { description } : {}) };
    this.opts.store.putBus(bus);
    return bus;
  }

  deleteBus(scope: Scope, name: string): void {
    if (name === DEFAULT_BUS) throw eventsErrors.validation('Cannot delete event bus default.');
    if (this.opts.store.listRules(scope, name).length > 0) throw eventsErrors.validation(`Cannot delete event bus ${name} because it has rules.`);
    this.opts.store.deleteBus(scope, name);
  }

  // ---------------------------------------------------------------- rules

  ruleArn(scope: Scope, bus: string, name: string): string {
    return `arn:aws:events:${scope.region}:${scope.accountId}:rule/${bus === DEFAULT_BUS ? '' : `${bus}/`}${name}`;
  }

  /** Creates or replaces a rule; returns its ARN. */
  putRule(scope: Scope, input: PutRuleInput): string {
    const bus = this.getBus(scope, input.bus).name;
    if (input.eventPattern === undefined && input.scheduleExpression === undefined) {
      throw eventsErrors.validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    const pattern = input.eventPattern !== undefined ? checkPattern(input.eventPattern) : undefined;
    let schedule: Schedule | undefined;
    if (input.scheduleExpression !== undefined) {
      if (bus !== DEFAULT_BUS) throw eventsErrors.validation('ScheduleExpression is supported only on the default event bus.');
      schedule = parseSchedule(input.scheduleExpression);
      if (!schedule) throw eventsErrors.validation('Parameter ScheduleExpression is not valid.');
    }
    const existing = this.opts.store.getRule(scope, bus, input.name);
    const now = this.opts.clock.now();
    const record: RuleRecord = {
      ...scope,
      bus,
      name: input.name,
      arn: this.ruleArn(scope, bus, input.name),
      state: input.state ?? existing?.state ?? 'ENABLED',
      createdAt: existing?.createdAt ?? now,
      ...(input.eventPattern !== undefined ? { eventPattern: input.eventPattern } : {}),
      ...(input.scheduleExpression !== undefined ? { scheduleExpression: input.scheduleExpression } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.roleArn !== undefined ? { roleArn: input.roleArn } : {}),
    };
    if (schedule) {
      const kept = existing?.scheduleExpression === input.scheduleExpression ? existing?.nextFireAt : undefined;
      const next = kept ?? nextFireTime(schedule, now);
      if (next !== undefined) record.nextFireAt = next;
    }
    this.opts.store.putRule(record);
    this.cache(record, pattern, schedule);
    return record.arn;
  }

  private findRule(scope: Scope, busNameOrArn: string | undefined, name: string): RuleRecord {
    const bus = this.getBus(scope, busNameOrArn).name;
    const rule = this.opts.store.getRule(scope, bus, name);
    if (!rule) throw eventsErrors.ruleNotFound(name, bus);
    return rule;
  }

  describeRule(scope: Scope, bus: string | undefined, name: string): RuleRecord {
    return this.findRule(scope, bus, name);
  }

  listRules(scope: Scope, bus: string | undefined, namePrefix: string | undefined, limit?: number, token?: string): Page<RuleRecord> {
    const name = this.getBus(scope, bus).name;
    const rules = this.opts.store.listRules(scope, name).filter((r) => namePrefix === undefined || r.name.startsWith(namePrefix));
    return page(rules, (r) => r.name, limit, token);
  }

  /** Deletes a rule; refused while it has targets unless forced. Deleting a missing rule succeeds. */
  deleteRule(scope: Scope, busNameOrArn: string | undefined, name: string, force = false): void {
    const bus = this.getBus(scope, busNameOrArn).name;
    const rule = this.opts.store.getRule(scope, bus, name);
    if (!rule) return;
    if (!force && this.opts.store.listTargets(scope, bus, name).length > 0) {
      throw eventsErrors.validation("Rule can't be deleted since it has targets.");
    }
    this.opts.store.deleteRule(scope, bus, name);
    this.uncache(rule);
  }

  setRuleState(scope: Scope, busNameOrArn: string | undefined, name: string, state: RuleState): void {
    const rule = this.findRule(scope, busNameOrArn, name);
    const updated: RuleRecord = { ...rule, state };
    const schedule = rule.scheduleExpression !== undefined ? parseSchedule(rule.scheduleExpression) : undefined;
    // A schedule re-enabled after its time has passed starts again from now.
    const now = this.opts.clock.now();
    if (schedule && state !== 'DISABLED' && (rule.nextFireAt === undefined || rule.nextFireAt <= now)) {
      const next = nextFireTime(schedule, now);
      if (next !== undefined) updated.nextFireAt = next;
    }
    this.opts.store.putRule(updated);
    this.cache(updated, rule.eventPattern !== undefined ? compilePattern(rule.eventPattern) : undefined, schedule);
  }

  // ---------------------------------------------------------------- targets

  /** Adds or replaces targets; returns the entries refused. */
  putTargets(scope: Scope, busNameOrArn: string | undefined, ruleName: string, targets: TargetSpec[]): { TargetId: string; ErrorCode: string; ErrorMessage: string }[] {
    const rule = this.findRule(scope, busNameOrArn, ruleName);
    const existing = this.opts.store.listTargets(scope, rule.bus, rule.name);
    const ids = new Set([...existing.map((t) => t.spec.Id), ...targets.map((t) => t.Id)]);
    if (ids.size > MAX_TARGETS_PER_RULE) throw eventsErrors.limitExceeded('The requested resource exceeds the maximum number allowed.');
    for (const t of targets) checkTarget(t);
    this.opts.store.putTargets(targets.map((spec) => ({ ...scope, bus: rule.bus, rule: rule.name, spec })));
    this.refreshTargets(rule);
    return [];
  }

  removeTargets(scope: Scope, busNameOrArn: string | undefined, ruleName: string, ids: string[]): void {
    const rule = this.findRule(scope, busNameOrArn, ruleName);
    this.opts.store.deleteTargets(scope, rule.bus, rule.name, ids);
    this.refreshTargets(rule);
  }

  listTargets(scope: Scope, busNameOrArn: string | undefined, ruleName: string, limit?: number, token?: string): Page<TargetSpec> {
    const rule = this.findRule(scope, busNameOrArn, ruleName);
    const targets = this.opts.store.listTargets(scope, rule.bus, rule.name).map((t) => t.spec);
    const keyed = targets.map((t, i) => ({ t, key: String(i).padStart(6, '0') }));
    const p = page(keyed, (k) => k.key, limit, token);
    return { items: p.items.map((k) => k.t), ...(p.nextToken !== undefined ? { nextToken: p.nextToken } : {}) };
  }

  listRuleNamesByTarget(scope: Scope, busNameOrArn: string | undefined, targetArn: string, limit?: number, token?: string): Page<string> {
    const bus = this.getBus(scope, busNameOrArn).name;
    const names = this.opts.store
      .listRules(scope, bus)
      .filter((r) => this.opts.store.listTargets(scope, bus, r.name).some((t) => t.spec.Arn === targetArn))
      .map((r) => r.name);
    return page(names, (n) => n, limit, token);
  }

  // ---------------------------------------------------------------- connections and API destinations

  connectionArn(scope: Scope, name: string): string {
    return `arn:aws:events:${scope.region}:${scope.accountId}:connection/${name}/${this.opts.random.uuid()}`;
  }

  createConnection(scope: Scope, c: { name: string; authorizationType: string; authParameters: Record<string, unknown>; description?: string }): ConnectionRecord {
    if (this.opts.store.getConnection(scope, c.name)) throw eventsErrors.alreadyExists(`Connection ${c.name} already exists.`);
    const now = this.opts.clock.now();
    const record: ConnectionRecord = { ...scope, ...c, arn: this.connectionArn(scope, c.name), createdAt: now, modifiedAt: now };
    this.opts.store.putConnection(record);
    return record;
  }

  getConnection(scope: Scope, name: string): ConnectionRecord {
    const c = this.opts.store.getConnection(scope, name);
    if (!c) throw eventsErrors.notFound(`Failed to describe the connection(s). Connection '${name}' does not exist.`);
    return c;
  }

  listConnections(scope: Scope, namePrefix?: string, limit?: number, token?: string): Page<ConnectionRecord> {
    const all = this.opts.store.listConnections(scope).filter((c) => namePrefix === undefined || c.name.startsWith(namePrefix));
    return page(all, (c) => c.name, limit, token);
  }

  deleteConnection(scope: Scope, name: string): ConnectionRecord {
    const c = this.getConnection(scope, name);
    this.opts.store.deleteConnection(scope, name);
    return c;
  }

  createApiDestination(
    scope: Scope,
    d: { name: string; connectionArn: string; invocationEndpoint: string; httpMethod: string; rateLimitPerSecond?: number; description?: string },
  ): ApiDestinationRecord {
    if (this.opts.store.getApiDestination(scope, d.name)) throw eventsErrors.alreadyExists(`An api-destination '${d.name}' already exists.`);
    const connectionName = /:connection\/([^/]+)\//.exec(d.connectionArn)?.[1] ?? '';
    const connection = this.opts.store.getConnection(scope, connectionName);
    if (!connection || connection.arn !== d.connectionArn) throw eventsErrors.notFound(`Connection '${connectionName}' does not exist.`);
    if (!/^https?:\/\//.test(d.invocationEndpoint)) throw eventsErrors.validation('Parameter InvocationEndpoint is not valid.');
    const now = this.opts.clock.now();
    const record: ApiDestinationRecord = {
      ...scope,
      ...d,
      arn: `arn:aws:events:${scope.region}:${scope.accountId}:api-destination/${d.name}/${this.opts.random.uuid()}`,
      createdAt: now,
      modifiedAt: now,
    };
    this.opts.store.putApiDestination(record);
    return record;
  }

  getApiDestination(scope: Scope, name: string): ApiDestinationRecord {
    const d = this.opts.store.getApiDestination(scope, name);
    if (!d) throw eventsErrors.notFound(`Failed to describe the api-destination(s). An api-destination '${name}' does not exist.`);
    return d;
  }

  listApiDestinations(scope: Scope, namePrefix?: string, limit?: number, token?: string): Page<ApiDestinationRecord> {
    const all = this.opts.store.listApiDestinations(scope).filter((d) => namePrefix === undefined || d.name.startsWith(namePrefix));
    return page(all, (d) => d.name, limit, token);
  }

  deleteApiDestination(scope: Scope, name: string): void {
    this.getApiDestination(scope, name);
    this.opts.store.deleteApiDestination(scope, name);
  }

  private resolveApiDestination(arn: ParsedArn): { destination: ApiDestinationRecord; connection?: ConnectionRecord } | undefined {
    const scope = { accountId: arn.accountId, region: arn.region };
    const name = arn.resource.split('/')[1] ?? '';
    const destination = this.opts.store.getApiDestination(scope, name);
    if (!destination) return undefined;
    const connectionName = /:connection\/([^/]+)\//.exec(destination.connectionArn)?.[1] ?? '';
    const connection = this.opts.store.getConnection(scope, connectionName);
    return { destination, ...(connection ? { connection } : {}) };
  }

  // ---------------------------------------------------------------- the rule cache and matching

  private loadAll(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const rule of this.opts.store.allRules()) {
      let pattern: CompiledPattern | undefined;
      try {
        pattern = rule.eventPattern !== undefined ? compilePattern(rule.eventPattern) : undefined;
      } catch (e) {
        this.opts.logger?.warn({ err: e, rule: rule.arn }, 'stored event pattern no longer compiles; rule ignored');
        continue;
      }
      const schedule = rule.scheduleExpression !== undefined ? parseSchedule(rule.scheduleExpression) : undefined;
      this.cache(rule, pattern, schedule);
    }
  }

  private busCache(scope: Scope, bus: string): CachedBus {
    const key = busKey(scope, bus);
    let cached = this.buses.get(key);
    if (!cached) {
      cached = { rules: new Map(), index: new PatternIndex() };
      this.buses.set(key, cached);
    }
    return cached;
  }

  private cache(record: RuleRecord, pattern: CompiledPattern | undefined, schedule: Schedule | undefined): void {
    if (!this.loaded) {
      // The first use loads every rule, this one included.
      this.loadAll();
      return;
    }
    const bus = this.busCache(record, record.bus);
    const targets = this.opts.store.listTargets(record, record.bus, record.name).map((t) => t.spec);
    bus.rules.set(record.name, { record, targets, ...(pattern ? { pattern } : {}), ...(schedule ? { schedule } : {}) });
    if (pattern && record.state !== 'DISABLED') bus.index.set(record.name, pattern);
    else bus.index.delete(record.name);
  }

  private uncache(record: RuleRecord): void {
    const bus = this.buses.get(busKey(record, record.bus));
    bus?.rules.delete(record.name);
    bus?.index.delete(record.name);
  }

  private refreshTargets(record: RuleRecord): void {
    this.loadAll();
    const cached = this.buses.get(busKey(record, record.bus))?.rules.get(record.name);
    if (cached) cached.targets = this.opts.store.listTargets(record, record.bus, record.name).map((t) => t.spec);
  }

  /** True when some bus of some account has an enabled rule with a pattern (so logged events need reading). */
  private anyPatternRules(): boolean {
    this.loadAll();
    for (const bus of this.buses.values()) if (bus.index.size > 0) return true;
    return false;
  }

  /** True when any enabled rule with a pattern exists on the bus (so events bound there need parsing). */
  private hasPatternRules(scope: Scope, bus: string): boolean {
    this.loadAll();
    return (this.buses.get(busKey(scope, bus))?.index.size ?? 0) > 0;
  }

  /**
   * Matches `event` against the rules of a bus and renders one outbox entry per target.
   * `readOnlyCall` events reach only rules that opted into all management events.
   */
  private route(scope: Scope, bus: string, event: BusEvent, readOnlyCall: boolean): NewOutboxEntry[] {
    this.loadAll();
    const cached = this.buses.get(busKey(scope, bus));
    if (!cached || cached.index.size === 0) return [];
    const names = cached.index.match(event);
    if (names.length === 0) return [];
    const now = this.opts.clock.now();
    const json = JSON.stringify(event);
    const out: NewOutboxEntry[] = [];
    for (const name of names) {
      const rule = cached.rules.get(name);
      if (!rule || rule.record.state === 'DISABLED') continue;
      if (readOnlyCall && rule.record.state !== 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') continue;
      out.push(...this.render(rule, event, json, now));
    }
    return out;
  }

  private render(rule: CachedRule, event: BusEvent, json: string, now: number): NewOutboxEntry[] {
    const ctx = { ruleArn: rule.record.arn, ruleName: rule.record.name, ingestionTime: new Date(now).toISOString() };
    return rule.targets.map((target) => ({
      eventId: event.id,
      ruleArn: rule.record.arn,
      target,
      payload: targetInput(target, event, json, ctx),
      event: json,
      nextAttemptAt: now,
      createdAt: now,
    }));
  }

  // ---------------------------------------------------------------- the event log consumer

  private kickPump(): void {
    if (this.stopped || !this.opts.log) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          // Yield once so that appends committed together are read together.
          await Promise.resolve();
          this.pumpLog();
        } while (this.pumpAgain && !this.stopped);
      } catch (e) {
        this.opts.logger?.error({ err: e }, 'putting logged events on the bus failed; will retry');
      } finally {
        this.pumping = undefined;
      }
    })();
  }

  /** Puts everything the log holds after the cursor on the bus, a page per transaction. */
  private pumpLog(): void {
    const log = this.opts.log;
    if (!log) return;
    for (;;) {
      const cursor = this.opts.store.cursor();
      if (!this.anyPatternRules()) {
        // No rule anywhere could take an event: move past the log without reading it.
        const end = log.lastSeq();
        if (end <= cursor) return;
        this.opts.store.commitDispatch([], end);
        this.opts.cursors?.set(BUS_CONSUMER, end);
        return;
      }
      const batch = log.readAfter(cursor, READ_PAGE);
      const last = batch[batch.length - 1];
      if (!last) return;
      const entries: NewOutboxEntry[] = [];
      for (const stored of batch) entries.push(...this.dispatchRecord(stored));
      this.opts.store.commitDispatch(entries, last.seq);
      this.opts.cursors?.set(BUS_CONSUMER, last.seq);
      if (entries.length > 0) this.kickDelivery();
    }
  }

  /** One logged record onto its account's default bus in the record's Region. */
  private dispatchRecord(stored: StoredEvent): NewOutboxEntry[] {
    const scope = { accountId: stored.accountId, region: stored.region };
    if (!this.hasPatternRules(scope, DEFAULT_BUS)) return [];
    if (stored.category === 'Data' && this.opts.acceptDataEvent && !this.opts.acceptDataEvent(stored)) return [];
    const event = cloudTrailEvent(stored, this.opts.random.uuid());
    if (!event) return [];
    return this.route(scope, DEFAULT_BUS, event, isReadOnlyManagementCall(stored));
  }

  // ---------------------------------------------------------------- PutEvents

  /** PutEvents: each entry validated on its own, the accepted ones put on their buses durably before returning. */
  putEvents(scope: Scope, entries: PutEventsEntry[]): PutEventsResult[] {
    let size = 0;
    for (const e of entries) size += entrySize(e);
    if (size > MAX_PUT_EVENTS_BYTES) throw eventsErrors.validation('Total size of the entries in the request is over the limit.');
    const now = this.opts.clock.now();
    const results: PutEventsResult[] = [];
    const outbox: NewOutboxEntry[] = [];
    for (const entry of entries) {
      const problem = entryProblem(entry);
      if (problem) {
        results.push(problem);
        continue;
      }
      let bus: string;
      try {
        bus = this.getBus(scope, entry.EventBusName).name;
      } catch {
        results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${this.busName(entry.EventBusName)} does not exist.` });
        continue;
      }
      const id = this.opts.random.uuid();
      const event: BusEvent = {
        version: '0',
        id,
        'detail-type': entry.DetailType ?? '',
        source: entry.Source ?? '',
        account: scope.accountId,
        time: eventTime(entry.Time ? entry.Time.getTime() : now),
        region: scope.region,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail ?? '{}') as unknown,
      };
      outbox.push(...this.route(scope, bus, event, false));
      results.push({ EventId: id });
    }
    if (outbox.length > 0) {
      this.opts.store.commitDispatch(outbox);
      this.kickDelivery();
    }
    return results;
  }

  /**
   * Puts an AWS service's own event (a CloudWatch alarm's state change...) on the
   * account's default bus: the `aws.` sources PutEvents refuses to callers. Returns its id.
   */
  putServiceEvent(scope: Scope, e: { source: string; detailType: string; detail: Record<string, unknown>; resources: string[]; time?: number }): string {
    const id = this.opts.random.uuid();
    const event: BusEvent = {
      version: '0',
      id,
      'detail-type': e.detailType,
      source: e.source,
      account: scope.accountId,
      time: eventTime(e.time ?? this.opts.clock.now()),
      region: scope.region,
      resources: e.resources,
      detail: e.detail,
    };
    const outbox = this.route(scope, DEFAULT_BUS, event, false);
    if (outbox.length > 0) {
      this.opts.store.commitDispatch(outbox);
      this.kickDelivery();
    }
    return id;
  }

  /** An event-bus target: the event goes on the other bus (same account) as it is. */
  private forwardToBus(arn: ParsedArn, eventJson: string): void {
    const scope = { accountId: arn.accountId, region: arn.region };
    const bus = arn.resource.slice('event-bus/'.length);
    if (bus !== DEFAULT_BUS && !this.opts.store.getBus(scope, bus)) throw new Error(`event bus ${bus} does not exist`);
    const event = JSON.parse(eventJson) as BusEvent;
    const entries = this.route(scope, bus, event, false);
    if (entries.length > 0) {
      this.opts.store.commitDispatch(entries);
      this.kickDelivery();
    }
  }

  // ---------------------------------------------------------------- schedules

  /** Fires every schedule rule whose time has come (by the injected clock); returns how many events. */
  fireSchedules(): number {
    this.loadAll();
    const now = this.opts.clock.now();
    const entries: NewOutboxEntry[] = [];
    const updates: { rule: RuleRecord; nextFireAt: number }[] = [];
    let fired = 0;
    for (const bus of this.buses.values()) {
      for (const rule of bus.rules.values()) {
        const { record, schedule } = rule;
        if (!schedule || record.state === 'DISABLED' || record.nextFireAt === undefined || record.nextFireAt > now) continue;
        let at: number | undefined = record.nextFireAt;
        for (let n = 0; at !== undefined && at <= now && n < MAX_CATCH_UP_FIRES; n++) {
          const event: BusEvent = {
            version: '0',
            id: this.opts.random.uuid(),
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: record.accountId,
            time: eventTime(at),
            region: record.region,
            resources: [record.arn],
            detail: {},
          };
          entries.push(...this.render(rule, event, JSON.stringify(event), now));
          fired++;
          at = nextFireTime(schedule, at);
        }
        if (at !== undefined && at <= now) at = nextFireTime(schedule, now);
        const next = at ?? Number.MAX_SAFE_INTEGER;
        updates.push({ rule: record, nextFireAt: next });
        rule.record = { ...record, nextFireAt: next };
      }
    }
    if (updates.length > 0) {
      this.opts.store.commitDispatch(entries, undefined, updates);
      if (entries.length > 0) this.kickDelivery();
    }
    return fired;
  }

  // ---------------------------------------------------------------- delivery

  private kickDelivery(): void {
    if (this.stopped) return;
    if (this.delivering) {
      this.deliverAgain = true;
      return;
    }
    this.delivering = (async () => {
      try {
        do {
          this.deliverAgain = false;
          await this.deliverDue();
        } while (this.deliverAgain && !this.stopped);
      } catch (e) {
        this.opts.logger?.error({ err: e }, 'event delivery pass failed');
      } finally {
        this.delivering = undefined;
      }
    })();
  }

  private async deliverDue(): Promise<void> {
    for (;;) {
      const now = this.opts.clock.now();
      const due = this.opts.store.dueDeliveries(now, DELIVERY_BATCH);
      if (due.length === 0 || this.stopped) return;
      await Promise.all(due.map((entry) => this.deliverOne(entry)));
    }
  }

  private async deliverOne(entry: OutboxEntry): Promise<void> {
    const outcome = await this.sender.send(entry.target, entry.payload, entry.event, this.sourceOf(entry));
    if (outcome.ok) {
      this.opts.store.completeDelivery(entry.id);
      return;
    }
    const now = this.opts.clock.now();
    const attempts = entry.attempts + 1;
    const maxAttempts = entry.target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const maxAgeMs = (entry.target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_AGE_S) * 1000;
    const dropped = !outcome.retryable || attempts > maxAttempts || now - entry.createdAt >= maxAgeMs;
    this.opts.targetFailed?.(dropped ? 'dropped' : 'retried');
    if (dropped) {
      this.opts.logger?.warn(
        { rule: entry.ruleArn, target: entry.target.Arn, targetId: entry.target.Id, eventId: entry.eventId, attempts, error: outcome.error },
        'event dropped: target delivery failed',
      );
      await this.deadLetter(entry, outcome.error);
      this.opts.store.completeDelivery(entry.id);
      return;
    }
    const base = this.opts.retryBaseDelayMs ?? 1000;
    const delay = Math.min(this.opts.retryMaxDelayMs ?? 60_000, base * 2 ** (attempts - 1));
    this.opts.store.retryDelivery(entry.id, attempts, now + delay);
    this.opts.logger?.debug({ target: entry.target.Arn, attempts, error: outcome.error }, 'target delivery failed; will retry');
  }

  private sourceOf(entry: OutboxEntry): DeliverySource {
    return { ruleArn: entry.ruleArn, accountId: parseArn(entry.ruleArn)?.accountId ?? '' };
  }

  /** Sends a dropped event to the target's dead-letter queue, when it has one. */
  private async deadLetter(entry: OutboxEntry, error: string): Promise<void> {
    const dlq = entry.target.DeadLetterConfig?.Arn;
    if (!dlq || !this.opts.targets?.queues) return;
    try {
      await this.opts.targets.queues.sendMessage(dlq, entry.event, undefined, this.sourceOf(entry));
    } catch (e) {
      this.opts.logger?.warn({ err: e, dlq, error }, 'dead-letter queue refused the event');
    }
  }
}

/** Compiles a pattern or throws InvalidEventPatternException. */
export function checkPattern(text: string): CompiledPattern {
  try {
    return compilePattern(text);
  } catch (e) {
    if (e instanceof PatternError) throw eventsErrors.invalidEventPattern(e.message);
    throw e;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** PutTargets' checks of one target. */
function checkTarget(t: TargetSpec): void {
  const inputs = [t.Input, t.InputPath, t.InputTransformer].filter((v) => v !== undefined).length;
  if (inputs > 1) throw eventsErrors.validation(`Only one of Input, InputPath, or InputTransformer must be provided for target ${t.Id}.`);
  if (t.Input !== undefined && !isJson(t.Input)) throw eventsErrors.validation(`Input for target ${t.Id} must be a valid JSON text.`);
  if (t.InputPath !== undefined && !isValidJsonPath(t.InputPath)) throw eventsErrors.validation(`InputPath for target ${t.Id} is invalid.`);
  for (const [key, path] of Object.entries(t.InputTransformer?.InputPathsMap ?? {})) {
    if (key.startsWith('aws.')) throw eventsErrors.validation(`InputTransformer for target ${t.Id} contains a reserved key ${key}.`);
    if (!isValidJsonPath(path)) throw eventsErrors.validation(`Invalid InputPathsMap value for key ${key} in target ${t.Id}.`);
  }
  if (!parseArn(t.Arn)) throw eventsErrors.validation(`Parameter ${t.Arn} is not valid. Reason: Provided Arn is not in correct format.`);
}

/** The size EventBridge counts for an entry: 14 bytes of Time, then the UTF-8 of its strings. */
function entrySize(e: PutEventsEntry): number {
  let n = e.Time ? 14 : 0;
  for (const s of [e.Source, e.DetailType, e.Detail, ...(e.Resources ?? [])]) if (s !== undefined) n += Buffer.byteLength(s);
  return n;
}

/** Why PutEvents refuses an entry, as EventBridge reports it in the entry's result. */
function entryProblem(e: PutEventsEntry): PutEventsResult | undefined {
  const required = (name: string) => ({ ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${name} is not valid. Reason: ${name} is a required argument.` });
  if (e.Source === undefined || e.Source === '') return required('Source');
  if (e.DetailType === undefined || e.DetailType === '') return required('DetailType');
  if (e.Detail === undefined || e.Detail === '') return required('Detail');
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  // `aws.` sources belong to AWS services; callers may not impersonate them.
  if (e.Source.startsWith('aws.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
  return undefined;
}
