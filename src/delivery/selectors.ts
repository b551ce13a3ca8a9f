/**
 * Which events a trail delivers: its scope (account, home region or every region, global
 * service events) and its event selectors, basic or advanced, evaluated as CloudTrail
 * documents them. Pure functions over a {@link NewEvent}; the record text is parsed
 * only when an advanced selector asks for a field the log does not index.
 */
import type { NewEvent } from '../eventlog/eventlog.js';
import type { AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, TrailRecord } from '../trails/store.js';

/**
 * Services whose events CloudTrail treats as global service events: recorded in
 * us-east-1 and delivered only by trails that include global service events.
 */
export const GLOBAL_SERVICE_SOURCES: ReadonlySet<string> = new Set([
  'iam.amazonaws.com',
  'sts.amazonaws.com',
  'cloudfront.amazonaws.com',
  'signin.amazonaws.com',
  'route53.amazonaws.com',
]);

/** The Region global service events are recorded in. */
export const GLOBAL_SERVICE_REGION = 'us-east-1';

/**
 * The data resource type of services whose data events name no resource in their records,
 * so that an advanced selector's `resources.type` still selects them.
 */
const IMPLIED_DATA_RESOURCE_TYPES: Readonly<Record<string, string>> = { 'monitoring.amazonaws.com': 'AWS::CloudWatch::Metric' };

/** A compiled test: does the trail deliver this event? */
export type EventMatcher = (event: NewEvent) => boolean;

/**
 * Whether some logging trail selects a data event. CloudTrail records a data event only
 * for the trails that select it, and sends to EventBridge only what a trail records. The
 * trails' matchers are compiled again only when the list of logging trails changes.
 *
 * @example
 * const selected = dataEventSelection(trails);
 * if (event.category !== 'Data' || selected(event)) await log.append(event);
 */
export function dataEventSelection(trails: { listLoggingTrails(): readonly TrailRecord[] }): EventMatcher {
  let compiled: { trails: readonly TrailRecord[]; matchers: EventMatcher[] } | undefined;
  return (event) => {
    const logging = trails.listLoggingTrails();
    if (compiled?.trails !== logging) compiled = { trails: logging, matchers: logging.map(trailMatcher) };
    return compiled.matchers.some((matches) => matches(event));
  };
}

/**
 * True for a global service event. STS called on a Regional endpoint records that Region
 * and is an ordinary Regional event, so only events recorded in us-east-1 count.
 */
export function isGlobalServiceEvent(event: Pick<NewEvent, 'eventSource' | 'region'>): boolean {
  return event.region === GLOBAL_SERVICE_REGION && GLOBAL_SERVICE_SOURCES.has(event.eventSource);
}

/**
 * The trail's scope: its own account; its home Region, or every Region for a multi-Region
 * trail; global service events only with IncludeGlobalServiceEvents (so a single-Region
 * trail receives them only when its home is us-east-1, as CloudTrail does since 2021).
 * Insights events go to their own files and are never in scope here.
 */
export function inTrailScope(trail: TrailRecord, event: NewEvent): boolean {
  if (event.category === 'Insight') return false;
  if (event.accountId !== trail.accountId) return false;
  if (!trail.config.isMultiRegionTrail && event.region !== trail.homeRegion) return false;
  if (!trail.config.includeGlobalServiceEvents && isGlobalServiceEvent(event)) return false;
  return true;
}

/**
 * Compiles a trail's scope and selectors into one matcher, once per delivery round.
 *
 * @example
 * const matches = trailMatcher(trail);
 * const delivered = events.filter(matches);
 */
export function trailMatcher(trail: TrailRecord): EventMatcher {
  const selectors = trail.config.advancedEventSelectors
    ? advancedMatcher(trail.config.advancedEventSelectors)
    : basicMatcher(trail.config.eventSelectors ?? []);
  return (event) => inTrailScope(trail, event) && selectors(event);
}

// ---------------------------------------------------------------- basic selectors

/** Basic selectors: an event is delivered when any selector takes it. */
export function basicMatcher(selectors: readonly EventSelector[]): EventMatcher {
  const compiled = selectors.map(compileBasic);
  return (event) => compiled.some((m) => m(event));
}

function compileBasic(selector: EventSelector): EventMatcher {
  const excluded = new Set(selector.ExcludeManagementEventSources);
  const readWrite = (event: NewEvent): boolean =>
    selector.ReadWriteType === 'All' || (selector.ReadWriteType === 'ReadOnly') === event.readOnly;
  const data = selector.DataResources.map(compileDataResource);
  return (event) => {
    if (!readWrite(event)) return false;
    if (event.category === 'Management') return selector.IncludeManagementEvents && !excluded.has(event.eventSource);
    if (event.category === 'Data') return data.some((m) => m(event));
    return false;
  };
}

/** The ARN prefixes that mean "every resource of the type" in a basic data resource. */
const ALL_OF_TYPE: Record<string, readonly string[]> = {
  'AWS::S3::Object': ['arn:aws:s3', 'arn:aws:s3:::'],
  'AWS::Lambda::Function': ['arn:aws:lambda'],
  'AWS::DynamoDB::Table': ['arn:aws:dynamodb'],
};

function compileDataResource(resource: DataResource): EventMatcher {
  const all = ALL_OF_TYPE[resource.Type] ?? [];
  const everything = resource.Values.some((v) => all.includes(v));
  // S3 values are key prefixes (`arn:aws:s3:::bucket/` or `.../logs/`); the others name
  // one function or table, optionally by a qualified ARN that extends the plain one.
  const prefixMatch = resource.Type === 'AWS::S3::Object';
  return (event) => {
    const arns = resourceArns(event, resource.Type);
    if (arns.length === 0) return false;
    if (everything) return true;
    return arns.some((arn) => resource.Values.some((v) => (prefixMatch ? arn.startsWith(v) : arn === v || arn.startsWith(`${v}:`))));
  };
}

/**
 * The ARNs of an event's resources of one type. A bucket-level S3 data event (ListObjects)
 * names only its bucket; it counts as the bucket's object space (`arn:aws:s3:::bucket/`),
 * which is what an `AWS::S3::Object` value for the bucket selects.
 */
function resourceArns(event: NewEvent, type: string): string[] {
  const resources = event.resources ?? [];
  const arns = resources.filter((r) => r.type === type).map((r) => r.name);
  if (arns.length === 0 && type === 'AWS::S3::Object' && event.category === 'Data') {
    return resources.filter((r) => r.type === 'AWS::S3::Bucket').map((r) => `${r.name}/`);
  }
  return arns;
}

// ---------------------------------------------------------------- advanced selectors

/** Advanced selectors: an event is delivered when any selector takes it. */
export function advancedMatcher(selectors: readonly AdvancedEventSelector[]): EventMatcher {
  const compiled = selectors.map(compileAdvanced);
  return (event) => {
    const fields = new EventFields(event);
    return compiled.some((m) => m(fields));
  };
}

/** A selector takes an event when every one of its field conditions holds. */
function compileAdvanced(selector: AdvancedEventSelector): (fields: EventFields) => boolean {
  const type = selector.FieldSelectors.find((f) => f.Field === 'resources.type')?.Equals;
  const conditions = selector.FieldSelectors.map((f) => compileField(f, type));
  return (fields) => conditions.every((c) => c(fields));
}

/**
 * One field's condition: the positive operators (Equals, StartsWith, EndsWith) are OR-ed
 * together, the negative ones (NotEquals, NotStartsWith, NotEndsWith) are AND-ed, and both
 * parts must hold. Multi-valued fields (resources.*) hold when some value satisfies the
 * condition; `resources.ARN` looks only at resources of the selector's `resources.type`.
 */
function compileField(f: AdvancedFieldSelector, resourceTypes: readonly string[] | undefined): (fields: EventFields) => boolean {
  const tests: ((v: string) => boolean)[] = [];
  for (const v of f.Equals ?? []) tests.push((x) => x === v);
  for (const v of f.StartsWith ?? []) tests.push((x) => x.startsWith(v));
  for (const v of f.EndsWith ?? []) tests.push((x) => x.endsWith(v));
  const negatives: ((v: string) => boolean)[] = [];
  for (const v of f.NotEquals ?? []) negatives.push((x) => x !== v);
  for (const v of f.NotStartsWith ?? []) negatives.push((x) => !x.startsWith(v));
  for (const v of f.NotEndsWith ?? []) negatives.push((x) => !x.endsWith(v));
  const holds = (value: string): boolean => (tests.length === 0 || tests.some((t) => t(value))) && negatives.every((t) => t(value));
  return (fields) => {
    const values = fields.values(f.Field, resourceTypes);
    // A field the event lacks is the empty string, so `NotEquals` holds and `Equals` fails.
    return values.length === 0 ? holds('') : values.some(holds);
  };
}

/** An event's values for advanced selector fields, parsing the record only when needed. */
class EventFields {
  private parsed: Record<string, unknown> | undefined;

  constructor(private readonly event: NewEvent) {}

  values(field: string, resourceTypes: readonly string[] | undefined): string[] {
    const e = this.event;
    switch (field) {
      case 'eventCategory':
        return [e.category];
      case 'eventSource':
        return [e.eventSource];
      case 'eventName':
        return [e.eventName];
      case 'readOnly':
        return [String(e.readOnly)];
      case 'resources.type': {
        const types = (e.resources ?? []).map((r) => r.type);
        if (e.category !== 'Data') return types;
        // A bucket-level S3 data event (ListObjects) is one on the bucket's object space.
        if (types.includes('AWS::S3::Bucket') && !types.includes('AWS::S3::Object')) return [...types, 'AWS::S3::Object'];
        const implied = types.length === 0 ? IMPLIED_DATA_RESOURCE_TYPES[e.eventSource] : undefined;
        return implied ? [implied] : types;
      }
      case 'resources.ARN': {
        const types = resourceTypes ?? [];
        const resources = (e.resources ?? []).filter((r) => types.length === 0 || types.includes(r.type));
        if (resources.length === 0 && types.includes('AWS::S3::Object')) return resourceArns(e, 'AWS::S3::Object');
        return resources.map((r) => r.name);
      }
      default:
        return this.recordValue(field);
    }
  }

  /** A field read from the record itself (`errorCode`, `eventType`, `userIdentity.arn`...). */
  private recordValue(path: string): string[] {
    this.parsed ??= parseRecord(this.event.record);
    let value: unknown = this.parsed;
    for (const part of path.split('.')) {
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (typeof value === 'string') return [value];
    if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
    return [];
  }
}

function parseRecord(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
