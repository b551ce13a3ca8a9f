/**
 * SNS subscription filter policies: parsing (with SNS's error wording) and matching a
 * message against one, on its message attributes or on its JSON body
 * (`FilterPolicyScope`). The operators are SNS's documented set: exact strings and
 * numbers, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (values or a prefix),
 * `numeric` comparisons and ranges, `exists`, and `$or`. Keys are ANDed, the values of a
 * key ORed; an attribute holding a list matches when any element does.
 */
import { AwsError } from '../platform/errors.js';

export type FilterScope = 'MessageAttributes' | 'MessageBody';

/** A parsed filter policy: keys to lists of conditions, or (body scope) to nested policies. */
export interface FilterPolicy {
  [key: string]: Condition[] | FilterPolicy | FilterPolicy[];
}

type Scalar = string | number | boolean | null;
type Condition =
  | { kind: 'exact'; value: Scalar }
  | { kind: 'prefix'; value: string }
  | { kind: 'suffix'; value: string }
  | { kind: 'ignoreCase'; value: string }
  | { kind: 'anythingBut'; values: Scalar[]; prefix?: string }
  | { kind: 'numeric'; tests: [string, number][] }
  | { kind: 'exists'; value: boolean };

/** A message attribute as the matcher sees it. */
export interface FilterAttribute {
  DataType: string;
  StringValue?: string;
}

function invalid(reason: string): AwsError {
  return new AwsError({ code: 'InvalidParameter', message: `Invalid parameter: FilterPolicy: ${reason}` });
}

const NUMERIC_OPS = new Set(['=', '<', '<=', '>', '>=']);

function parseCondition(raw: unknown): Condition {
  if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') return { kind: 'exact', value: raw };
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw invalid('Match value must be finite');
    return { kind: 'exact', value: raw };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('Match value must be String, number, true, false, or null');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length !== 1) throw invalid('Only one key allowed in match expression');
  const [op, arg] = entries[0] ?? ['', undefined];
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw invalid(`${op} match pattern must be a string`);
      return { kind: op === 'prefix' ? 'prefix' : op === 'suffix' ? 'suffix' : 'ignoreCase', value: arg };
    case 'exists':
      if (typeof arg !== 'boolean') throw invalid('exists match pattern must be either true or false.');
      return { kind: 'exists', value: arg };
    case 'anything-but': {
      if (arg && typeof arg === 'object' && !Array.isArray(arg)) {
        const prefix = (arg as Record<string, unknown>).prefix;
        if (typeof prefix !== 'string') throw invalid('Unsupported anything-but pattern');
        return { kind: 'anythingBut', values: [], prefix };
      }
      const values = Array.isArray(arg) ? arg : [arg];
      for (const v of values) if (typeof v !== 'string' && typeof v !== 'number') throw invalid('Inside anything but list, start|null|boolean is not supported.');
      return { kind: 'anythingBut', values: values as Scalar[] };
    }
    case 'numeric': {
      if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) throw invalid('Value of numeric must be an array.');
      const tests: [string, number][] = [];
      for (let i = 0; i < arg.length; i += 2) {
        const o: unknown = arg[i];
        const n: unknown = arg[i + 1];
        if (typeof o !== 'string' || !NUMERIC_OPS.has(o)) throw invalid(`Unrecognized numeric range operator: ${String(o)}`);
        if (typeof n !== 'number') throw invalid(`Value of ${o} must be numeric`);
        tests.push([o, n]);
      }
      return { kind: 'numeric', tests };
    }
    default:
      throw invalid(`Unrecognized match type ${op}`);
  }
}

function parseLevel(raw: unknown, scope: FilterScope, depth: number): FilterPolicy {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('Filter policy must be a JSON object');
  const out: FilterPolicy = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) throw invalid('$or must be an array of at least two policies');
      out[key] = value.map((v) => parseLevel(v, scope, depth));
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalid(`Empty arrays are not allowed`);
      out[key] = value.map(parseCondition);
    } else if (scope === 'MessageBody' && value && typeof value === 'object' && depth < 5) {
      out[key] = parseLevel(value, scope, depth + 1);
    } else {
      throw invalid(`"${key}" must be an object or an array`);
    }
  }
  return out;
}

/** Parses a FilterPolicy attribute; InvalidParameter when it is not a valid policy. */
export function parseFilterPolicy(text: string, scope: FilterScope): FilterPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid('failed to parse JSON.');
  }
  return parseLevel(raw, scope, 0);
}

function testCondition(c: Condition, value: Scalar): boolean {
  switch (c.kind) {
    case 'exact':
      return value === c.value;
    case 'prefix':
      return typeof value === 'string' && value.startsWith(c.value);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(c.value);
    case 'ignoreCase':
      return typeof value === 'string' && value.toLowerCase() === c.value.toLowerCase();
    case 'anythingBut':
      if (c.prefix !== undefined) return typeof value === 'string' && !value.startsWith(c.prefix);
      return !c.values.includes(value);
    case 'numeric':
      return (
        typeof value === 'number' &&
        c.tests.every(([op, n]) => (op === '=' ? value === n : op === '<' ? value < n : op === '<=' ? value <= n : op === '>' ? value > n : value >= n))
      );
    case 'exists':
      return c.value;
  }
}

/** Matches one key's conditions against the values found there (undefined: the key is absent). */
function matchKey(conditions: Condition[], values: Scalar[] | undefined): boolean {
  return conditions.some((c) => {
    if (c.kind === 'exists') return c.value === (values !== undefined);
    return values !== undefined && values.some((v) => testCondition(c, v));
  });
}

function matchLevel(policy: FilterPolicy, lookup: (key: string) => Scalar[] | undefined, nested: (key: string) => unknown): boolean {
  for (const [key, rule] of Object.entries(policy)) {
    if (key === '$or') {
      const branches = rule as FilterPolicy[];
      if (!branches.some((b) => matchLevel(b, lookup, nested))) return false;
    } else if (Array.isArray(rule)) {
      if (!matchKey(rule as Condition[], lookup(key))) return false;
    } else {
      const child = nested(key);
      const objects = Array.isArray(child) ? child : [child];
      const ok = objects.some(
        (o) => o !== null && typeof o === 'object' && !Array.isArray(o) && matchLevel(rule, bodyLookup(o as Record<string, unknown>), bodyNested(o as Record<string, unknown>)),
      );
      if (!ok) return false;
    }
  }
  return true;
}

function scalarValues(v: unknown): Scalar[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is Scalar => x === null || ['string', 'number', 'boolean'].includes(typeof x));
}

const bodyLookup = (o: Record<string, unknown>) => (key: string) => (Object.hasOwn(o, key) ? scalarValues(o[key]) : undefined);
const bodyNested = (o: Record<string, unknown>) => (key: string) => (Object.hasOwn(o, key) ? o[key] : undefined);

/** The values an attribute offers to conditions: strings, numbers, or a String.Array's elements. */
function attributeValues(attr: FilterAttribute): Scalar[] {
  const text = attr.StringValue ?? '';
  if (attr.DataType.startsWith('Number')) {
    const n = Number(text);
    return Number.isFinite(n) ? [n] : [];
  }
  if (attr.DataType === 'String.Array') {
    try {
      return scalarValues(JSON.parse(text)) ?? [];
    } catch {
      return [];
    }
  }
  // Binary attributes take no part in filtering.
  if (attr.DataType.startsWith('Binary')) return [];
  return [text];
}

/** Whether a message passes a filter policy on its attributes, or on its body (not JSON: no match). */
export function matchesFilter(
  policy: FilterPolicy,
  scope: FilterScope,
  message: { attributes: Readonly<Record<string, FilterAttribute>>; body: string },
): boolean {
  if (scope === 'MessageBody') {
    let body: unknown;
    try {
      body = JSON.parse(message.body);
    } catch {
      return false;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
    const o = body as Record<string, unknown>;
    return matchLevel(policy, bodyLookup(o), bodyNested(o));
  }
  const attrs = message.attributes;
  return matchLevel(
    policy,
    (key) => {
      const a = Object.hasOwn(attrs, key) ? attrs[key] : undefined;
      return a ? attributeValues(a) : undefined;
    },
    () => undefined,
  );
}
