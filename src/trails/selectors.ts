/**
 * CloudTrail's rules for a trail's event selectors (basic and advanced) and Insights
 * selectors: what PutEventSelectors and PutInsightSelectors accept, with the defaults
 * filled in, and which events a trail's selectors let through by category, as the
 * Insights eligibility rules need.
 */
import { trailErrors } from './errors.js';
import type {
  AdvancedEventSelector,
  AdvancedFieldSelector,
  DataResource,
  EventSelector,
  InsightSelector,
  ReadWriteType,
  SelectorOperator,
} from './store.js';
import { SELECTOR_OPERATORS } from './store.js';

/** Up to five basic event selectors per trail. */
export const MAX_EVENT_SELECTORS = 5;
/** Up to 250 data resource values across a trail's basic selectors. */
export const MAX_DATA_RESOURCES = 250;
/** Up to 500 condition values across a trail's advanced selectors. */
export const MAX_ADVANCED_VALUES = 500;

/** The selector a trail starts with: all management events, read and write, no data events. */
export function defaultEventSelectors(): EventSelector[] {
  return [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }];
}

/** A basic event selector as submitted (every member optional). */
export interface EventSelectorInput {
  ReadWriteType?: ReadWriteType;
  IncludeManagementEvents?: boolean;
  DataResources?: { Type?: string; Values?: string[] }[];
  ExcludeManagementEventSources?: string[];
}

const BASIC_DATA_TYPES: Record<string, (value: string) => boolean> = {
  // `arn:aws:s3` alone means every bucket; otherwise a bucket, a slash, then an optional key prefix.
  'AWS::S3::Object': (v) => v === 'arn:aws:s3' || v === 'arn:aws:s3:::' || /^arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$/.test(v),
  'AWS::Lambda::Function': (v) =>
    v === 'arn:aws:lambda' || /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$/.test(v),
  'AWS::DynamoDB::Table': (v) =>
    v === 'arn:aws:dynamodb' || /^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/.test(v),
};

/** Management event sources a trail may exclude. */
export const EXCLUDABLE_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com'];

/** Validates basic event selectors and returns them with defaults filled in; InvalidEventSelectorsException otherwise. */
export function normalizeEventSelectors(input: readonly EventSelectorInput[]): EventSelector[] {
  if (input.length < 1 || input.length > MAX_EVENT_SELECTORS) {
    throw trailErrors.invalidEventSelectors(
      `A trail can have 1 to ${MAX_EVENT_SELECTORS} event selectors; ${input.length} were specified.`,
    );
  }
  let dataValues = 0;
  const selectors = input.map((s): EventSelector => {
    const dataResources = (s.DataResources ?? []).map((r): DataResource => {
      const type = r.Type ?? '';
      const check = BASIC_DATA_TYPES[type];
      if (!check) {
        throw trailErrors.invalidEventSelectors(
          `Value ${type} for DataResources.Type is invalid. Valid types are ${Object.keys(BASIC_DATA_TYPES).join(', ')}; use advanced event selectors for other types.`,
        );
      }
      const values = r.Values ?? [];
      if (values.length === 0) throw trailErrors.invalidEventSelectors(`DataResources.Values for ${type} must not be empty.`);
      for (const v of values) {
        if (!check(v)) throw trailErrors.invalidEventSelectors(`Value ${v} for DataResources.Values is invalid.`);
      }
      dataValues += values.length;
      return { Type: type, Values: [...values] };
    });
    const excluded = s.ExcludeManagementEventSources ?? [];
    for (const source of excluded) {
      if (!EXCLUDABLE_SOURCES.includes(source)) {
        throw trailErrors.invalidEventSelectors(
          `Value ${source} for ExcludeManagementEventSources is invalid. Valid values are ${EXCLUDABLE_SOURCES.join(', ')}.`,
        );
      }
    }
    return {
      ReadWriteType: s.ReadWriteType ?? 'All',
      IncludeManagementEvents: s.IncludeManagementEvents ?? true,
      DataResources: dataResources,
      ExcludeManagementEventSources: [...excluded],
    };
  });
  if (dataValues > MAX_DATA_RESOURCES) {
    throw trailErrors.invalidEventSelectors(
      `A trail can have at most ${MAX_DATA_RESOURCES} data resources across its event selectors; ${dataValues} were specified.`,
    );
  }
  return selectors;
}

/** The event categories trails accept in advanced selectors, and the fields each may filter on. */
const FIELDS_BY_CATEGORY: Record<string, readonly string[]> = {
  Management: ['eventCategory', 'eventSource', 'readOnly'],
  Data: [
    'eventCategory',
    'resources.type',
    'resources.ARN',
    'eventName',
    'eventSource',
    'eventType',
    'readOnly',
    'sessionCredentialFromConsole',
    'userIdentity.arn',
  ],
  NetworkActivity: ['eventCategory', 'eventSource', 'eventName', 'errorCode', 'vpcEndpointId'],
};

/** Fields that only take `Equals`. */
const EQUALS_ONLY = new Set(['eventCategory', 'readOnly', 'resources.type', 'errorCode', 'sessionCredentialFromConsole']);

function values(f: AdvancedFieldSelector): { op: SelectorOperator; values: string[] }[] {
  return SELECTOR_OPERATORS.flatMap((op) => {
    const v = f[op];
    return v === undefined ? [] : [{ op, values: v }];
  });
}

function single(f: AdvancedFieldSelector, selectorName: string): string {
  const ops = values(f);
  const first = ops[0];
  if (ops.length !== 1 || !first || first.op !== 'Equals' || first.values.length !== 1 || first.values[0] === undefined) {
    throw trailErrors.invalidEventSelectors(
      `Field ${f.Field} in selector ${selectorName} must use the Equals operator with exactly one value.`,
    );
  }
  return first.values[0];
}

/** Validates advanced event selectors by CloudTrail's per-category rules for trails; InvalidEventSelectorsException otherwise. */
export function normalizeAdvancedEventSelectors(input: readonly AdvancedEventSelector[]): AdvancedEventSelector[] {
  if (input.length < 1) throw trailErrors.invalidEventSelectors('At least one advanced event selector is required.');
  let total = 0;
  const out = input.map((selector, index): AdvancedEventSelector => {
    const label = selector.Name !== undefined && selector.Name !== '' ? selector.Name : String(index + 1);
    const byField = new Map<string, AdvancedFieldSelector>();
    for (const f of selector.FieldSelectors) {
      if (byField.has(f.Field)) {
        throw trailErrors.invalidEventSelectors(`Field ${f.Field} appears more than once in selector ${label}.`);
      }
      byField.set(f.Field, f);
      const ops = values(f);
      if (ops.length === 0) {
        throw trailErrors.invalidEventSelectors(`Field ${f.Field} in selector ${label} must have at least one operator.`);
      }
      if (EQUALS_ONLY.has(f.Field) && ops.some((o) => o.op !== 'Equals')) {
        throw trailErrors.invalidEventSelectors(`Field ${f.Field} in selector ${label} only supports the Equals operator.`);
      }
      total += ops.reduce((n, o) => n + o.values.length, 0);
    }
    const categoryField = byField.get('eventCategory');
    if (!categoryField) throw trailErrors.invalidEventSelectors(`Selector ${label} must have an eventCategory field.`);
    const category = single(categoryField, label);
    const allowed = FIELDS_BY_CATEGORY[category];
    if (!allowed) {
      throw trailErrors.invalidEventSelectors(
        `Value ${category} for eventCategory in selector ${label} is invalid. Valid values are ${Object.keys(FIELDS_BY_CATEGORY).join(', ')}.`,
      );
    }
    for (const field of byField.keys()) {
      if (!allowed.includes(field)) {
        throw trailErrors.invalidEventSelectors(`Field ${field} is not supported for ${category} events in selector ${label}.`);
      }
    }
    const readOnly = byField.get('readOnly');
    if (readOnly) {
      const v = single(readOnly, label);
      if (v !== 'true' && v !== 'false') {
        throw trailErrors.invalidEventSelectors(`Value ${v} for readOnly in selector ${label} is invalid; use true or false.`);
      }
    }
    checkCategoryFields(category, byField, label);
    return {
      ...(selector.Name !== undefined ? { Name: selector.Name } : {}),
      FieldSelectors: selector.FieldSelectors.map((f) => ({ ...f })),
    };
  });
  if (total > MAX_ADVANCED_VALUES) {
    throw trailErrors.invalidEventSelectors(
      `Advanced event selectors can have at most ${MAX_ADVANCED_VALUES} values across all conditions; ${total} were specified.`,
    );
  }
  return out;
}

function checkCategoryFields(category: string, byField: Map<string, AdvancedFieldSelector>, label: string): void {
  const source = byField.get('eventSource');
  if (category === 'Management' && source) {
    const ops = values(source);
    const ok = ops.every((o) => o.op === 'NotEquals' && o.values.every((v) => EXCLUDABLE_SOURCES.includes(v)));
    if (!ok) {
      throw trailErrors.invalidEventSelectors(
        `For management events, eventSource in selector ${label} can only use NotEquals with ${EXCLUDABLE_SOURCES.join(' or ')}.`,
      );
    }
  }
  if (category === 'Data') {
    const type = byField.get('resources.type');
    if (!type) throw trailErrors.invalidEventSelectors(`Data event selector ${label} must have a resources.type field.`);
    const value = single(type, label);
    if (!/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(value)) {
      throw trailErrors.invalidEventSelectors(`Value ${value} for resources.type in selector ${label} is invalid.`);
    }
  }
  if (category === 'NetworkActivity') {
    if (!source) throw trailErrors.invalidEventSelectors(`Network activity selector ${label} must have an eventSource field.`);
    const value = single(source, label);
    if (!/^[a-z0-9-]+\.amazonaws\.com$/.test(value)) {
      throw trailErrors.invalidEventSelectors(`Value ${value} for eventSource in selector ${label} is invalid.`);
    }
    const errorCode = byField.get('errorCode');
    if (errorCode && single(errorCode, label) !== 'VpceAccessDenied') {
      throw trailErrors.invalidEventSelectors(`errorCode in selector ${label} can only equal VpceAccessDenied.`);
    }
  }
}

/** Which events a trail's selectors let through, as far as Insights eligibility needs to know. */
export interface SelectorCoverage {
  managementRead: boolean;
  managementWrite: boolean;
  data: boolean;
}

/** Summarizes what a trail's selectors log. */
export function coverage(basic: readonly EventSelector[] | null, advanced: readonly AdvancedEventSelector[] | null): SelectorCoverage {
  const c: SelectorCoverage = { managementRead: false, managementWrite: false, data: false };
  for (const s of basic ?? []) {
    if (s.IncludeManagementEvents) {
      if (s.ReadWriteType !== 'WriteOnly') c.managementRead = true;
      if (s.ReadWriteType !== 'ReadOnly') c.managementWrite = true;
    }
    if (s.DataResources.length > 0) c.data = true;
  }
  for (const s of advanced ?? []) {
    const field = (name: string) => s.FieldSelectors.find((f) => f.Field === name);
    const category = field('eventCategory')?.Equals?.[0];
    const readOnly = field('readOnly')?.Equals?.[0];
    if (category === 'Management') {
      if (readOnly !== 'false') c.managementRead = true;
      if (readOnly !== 'true') c.managementWrite = true;
    }
    if (category === 'Data') c.data = true;
  }
  return c;
}

/** An Insights selector as submitted. */
export interface InsightSelectorInput {
  InsightType?: string;
  EventCategories?: string[];
}

const INSIGHT_TYPES = ['ApiCallRateInsight', 'ApiErrorRateInsight'] as const;

/**
 * Validates Insights selectors against the trail's selectors (ApiCallRateInsight on
 * management events needs write management events; ApiErrorRateInsight needs read or write
 * management events; either on data events needs data events); InvalidInsightSelectorsException otherwise.
 */
export function normalizeInsightSelectors(input: readonly InsightSelectorInput[], logs: SelectorCoverage): InsightSelector[] {
  const seen = new Set<string>();
  return input.map((s): InsightSelector => {
    const type = INSIGHT_TYPES.find((t) => t === s.InsightType);
    if (!type) {
      throw trailErrors.invalidInsightSelectors(
        `Insight type ${s.InsightType ?? '(missing)'} is not valid. Valid values are ${INSIGHT_TYPES.join(', ')}.`,
      );
    }
    if (seen.has(type)) throw trailErrors.invalidInsightSelectors(`Insight type ${type} is specified more than once.`);
    seen.add(type);
    const categories = s.EventCategories;
    for (const category of categories ?? ['Management']) {
      if (category === 'Management') {
        const eligible = type === 'ApiCallRateInsight' ? logs.managementWrite : logs.managementRead || logs.managementWrite;
        if (!eligible) {
          throw trailErrors.invalidInsightSelectors(
            type === 'ApiCallRateInsight'
              ? 'To log ApiCallRateInsight events on management events, the trail must log write management events.'
              : 'To log ApiErrorRateInsight events on management events, the trail must log read or write management events.',
          );
        }
      } else if (category === 'Data') {
        if (!logs.data) throw trailErrors.invalidInsightSelectors(`To log ${type} events on data events, the trail must log data events.`);
      } else {
        throw trailErrors.invalidInsightSelectors(`Event category ${category} is not valid. Valid values are Management, Data.`);
      }
    }
    if (categories === undefined) return { InsightType: type };
    return { InsightType: type, EventCategories: categories.filter((c): c is 'Management' | 'Data' => c === 'Management' || c === 'Data') };
  });
}
