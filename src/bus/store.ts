/**
 * What the event bus keeps: buses, rules and their targets, connections and API
 * destinations, the outbox of deliveries not yet made, and the bus's cursor in the event
 * log. The engine (engine.ts) owns every rule about them; a store only keeps rows. Calls
 * are synchronous (better-sqlite3), and {@link BusStore.commitDispatch} is one transaction
 * so that events reach the outbox exactly once however the process stops.
 */

/** A rule's state as the API names it. */
export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/** Where a bus, rule or destination lives. */
export interface Scope {
  accountId: string;
  region: string;
}

/** An event bus. */
export interface BusRecord extends Scope {
  name: string;
  arn: string;
  description?: string;
  createdAt: number;
  modifiedAt: number;
}

/** A rule: an event pattern or a schedule, on one bus. */
export interface RuleRecord extends Scope {
  bus: string;
  name: string;
  arn: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state: RuleState;
  description?: string;
  roleArn?: string;
  managedBy?: string;
  /** For schedule rules: when the schedule next fires (ms). */
  nextFireAt?: number;
  createdAt: number;
}

/** A target as PutTargets takes it (the API's own member names), kept verbatim. */
export interface TargetSpec {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  HttpParameters?: {
    PathParameterValues?: string[];
    HeaderParameters?: Record<string, string>;
    QueryStringParameters?: Record<string, string>;
  };
  SqsParameters?: { MessageGroupId?: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  [other: string]: unknown;
}

/** A target of a rule. */
export interface TargetRecord extends Scope {
  bus: string;
  rule: string;
  spec: TargetSpec;
}

/** A connection: how API destinations authenticate. */
export interface ConnectionRecord extends Scope {
  name: string;
  arn: string;
  authorizationType: string;
  /** The auth parameters as given (secrets included: they are needed to call the endpoint). */
  authParameters: Record<string, unknown>;
  description?: string;
  createdAt: number;
  modifiedAt: number;
}

/** An API destination: an HTTP endpoint rules can target. */
export interface ApiDestinationRecord extends Scope {
  name: string;
  arn: string;
  connectionArn: string;
  invocationEndpoint: string;
  httpMethod: string;
  rateLimitPerSecond?: number;
  description?: string;
  createdAt: number;
  modifiedAt: number;
}

/** One delivery to make: the input rendered for one target of one matched rule. */
export interface OutboxEntry {
  id: number;
  eventId: string;
  ruleArn: string;
  target: TargetSpec;
  /** The target's input: the event JSON or the transformed input. */
  payload: string;
  /** The full event JSON, for a dead-letter queue. */
  event: string;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
}

/** An outbox entry before the store numbers it. */
export type NewOutboxEntry = Omit<OutboxEntry, 'id' | 'attempts'>;

/** The event bus store. */
export interface BusStore {
  getBus(scope: Scope, name: string): BusRecord | undefined;
  listBuses(scope: Scope): BusRecord[];
  putBus(bus: BusRecord): void;
  deleteBus(scope: Scope, name: string): void;

  getRule(scope: Scope, bus: string, name: string): RuleRecord | undefined;
  /** Rules of one bus in name order. */
  listRules(scope: Scope, bus: string): RuleRecord[];
  /** Every rule everywhere (to build the matchers and the schedule). */
  allRules(): RuleRecord[];
  putRule(rule: RuleRecord): void;
  deleteRule(scope: Scope, bus: string, name: string): void;

  listTargets(scope: Scope, bus: string, rule: string): TargetRecord[];
  /** Inserts or replaces targets by Id, keeping their order of first insertion. */
  putTargets(targets: TargetRecord[]): void;
  deleteTargets(scope: Scope, bus: string, rule: string, ids: string[]): void;

  getConnection(scope: Scope, name: string): ConnectionRecord | undefined;
  listConnections(scope: Scope): ConnectionRecord[];
  putConnection(c: ConnectionRecord): void;
  deleteConnection(scope: Scope, name: string): void;
  getApiDestination(scope: Scope, name: string): ApiDestinationRecord | undefined;
  listApiDestinations(scope: Scope): ApiDestinationRecord[];
  putApiDestination(d: ApiDestinationRecord): void;
  deleteApiDestination(scope: Scope, name: string): void;

  /** The bus consumer's position in the event log (0 before the first event). */
  cursor(): number;
  /**
   * Atomically: appends `entries` to the outbox, moves the cursor to `cursor` (when given)
   * and stores the rules' next schedule times (when given).
   */
  commitDispatch(entries: NewOutboxEntry[], cursor?: number, schedules?: { rule: RuleRecord; nextFireAt: number }[]): void;
  /** Outbox entries due by `now`, oldest first. */
  dueDeliveries(now: number, limit: number): OutboxEntry[];
  /** When the next outbox entry falls due, if any. */
  nextDeliveryAt(): number | undefined;
  completeDelivery(id: number): void;
  retryDelivery(id: number, attempts: number, nextAttemptAt: number): void;
  outboxSize(): number;
}
