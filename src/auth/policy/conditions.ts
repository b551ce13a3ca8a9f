/**
 * IAM condition operators: parsing an operator name (with `ForAnyValue:` / `ForAllValues:` and
 * `…IfExists`), compiling its policy values once, and testing it against a request's context.
 * Semantics follow AWS's "IAM JSON policy elements: Condition operators" and "Multivalued
 * context keys" pages: values of one key are ORed, keys and operators are ANDed, negated
 * operators match when no policy value matches, and a missing key fails a positive operator
 * but passes a negated one.
 */
import { cidrContains, parseCidr, parseIp, type Cidr } from './ip.js';
import {
  globMatch,
  parsePattern,
  patternFromParts,
  resolvePattern,
  splitArn,
  splitParts,
  type Pattern,
  type VariableLookup,
} from './glob.js';
import type { ConditionValue, OneOrMany } from './types.js';

/** The request's condition keys, lower-cased, each as a list; and the variable lookup built on it. */
export interface EvalContext {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly lookup: VariableLookup;
}

/** One compiled (operator, key, values) test. */
export interface CompiledCondition {
  readonly key: string;
  readonly set: 'none' | 'any' | 'all';
  readonly ifExists: boolean;
  readonly negated: boolean;
  /** Null check: true when the policy asks for the key's absence, false for presence (both listed -> either). */
  readonly nullWants: readonly boolean[] | null;
  /** True when one request value matches at least one policy value (before negation). */
  readonly matchAny: (value: string, ctx: EvalContext) => boolean;
}

type Family = 'string' | 'stringIgnoreCase' | 'stringLike' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'arn' | 'null';
type Compare = 'eq' | 'lt' | 'le' | 'gt' | 'ge';

interface OperatorSpec {
  family: Family;
  negated: boolean;
  cmp: Compare;
}

const OPERATORS: Record<string, OperatorSpec> = {
  StringEquals: { family: 'string', negated: false, cmp: 'eq' },
  StringNotEquals: { family: 'string', negated: true, cmp: 'eq' },
  StringEqualsIgnoreCase: { family: 'stringIgnoreCase', negated: false, cmp: 'eq' },
  StringNotEqualsIgnoreCase: { family: 'stringIgnoreCase', negated: true, cmp: 'eq' },
  StringLike: { family: 'stringLike', negated: false, cmp: 'eq' },
  StringNotLike: { family: 'stringLike', negated: true, cmp: 'eq' },
  NumericEquals: { family: 'numeric', negated: false, cmp: 'eq' },
  NumericNotEquals: { family: 'numeric', negated: true, cmp: 'eq' },
  NumericLessThan: { family: 'numeric', negated: false, cmp: 'lt' },
  NumericLessThanEquals: { family: 'numeric', negated: false, cmp: 'le' },
  NumericGreaterThan: { family: 'numeric', negated: false, cmp: 'gt' },
  NumericGreaterThanEquals: { family: 'numeric', negated: false, cmp: 'ge' },
  DateEquals: { family: 'date', negated: false, cmp: 'eq' },
  DateNotEquals: { family: 'date', negated: true, cmp: 'eq' },
  DateLessThan: { family: 'date', negated: false, cmp: 'lt' },
  DateLessThanEquals: { family: 'date', negated: false, cmp: 'le' },
  DateGreaterThan: { family: 'date', negated: false, cmp: 'gt' },
  DateGreaterThanEquals: { family: 'date', negated: false, cmp: 'ge' },
  Bool: { family: 'bool', negated: false, cmp: 'eq' },
  BinaryEquals: { family: 'binary', negated: false, cmp: 'eq' },
  IpAddress: { family: 'ip', negated: false, cmp: 'eq' },
  NotIpAddress: { family: 'ip', negated: true, cmp: 'eq' },
  ArnEquals: { family: 'arn', negated: false, cmp: 'eq' },
  ArnNotEquals: { family: 'arn', negated: true, cmp: 'eq' },
  ArnLike: { family: 'arn', negated: false, cmp: 'eq' },
  ArnNotLike: { family: 'arn', negated: true, cmp: 'eq' },
  Null: { family: 'null', negated: false, cmp: 'eq' },
};

/** A parsed operator name. */
export interface ParsedOperator {
  spec: OperatorSpec;
  set: 'none' | 'any' | 'all';
  ifExists: boolean;
}

/** Parses `ForAnyValue:StringLikeIfExists`-style names; null for an unknown operator. */
export function parseOperator(name: string): ParsedOperator | null {
  let rest = name;
  let set: ParsedOperator['set'] = 'none';
  if (rest.startsWith('ForAnyValue:')) {
    set = 'any';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    set = 'all';
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const spec = Object.hasOwn(OPERATORS, rest) ? OPERATORS[rest] : undefined;
  if (!spec || (spec.family === 'null' && (ifExists || set !== 'none'))) return null;
  return { spec, set, ifExists };
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(s: string): number | null {
  return NUMERIC.test(s.trim()) ? Number(s) : null;
}

/** ISO 8601 or epoch seconds, as AWS accepts in Date conditions; milliseconds, null if neither. */
function toTime(s: string): number | null {
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

function compare(cmp: Compare, request: number, policy: number): boolean {
  switch (cmp) {
    case 'eq':
      return request === policy;
    case 'lt':
      return request < policy;
    case 'le':
      return request <= policy;
    case 'gt':
      return request > policy;
    case 'ge':
      return request >= policy;
  }
}

function valueText(v: ConditionValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** Compiles one key's test; `variables` when the policy is Version 2012-10-17. */
export function compileCondition(
  op: ParsedOperator,
  key: string,
  raw: OneOrMany<ConditionValue>,
  variables: boolean,
): CompiledCondition {
  const values = (Array.isArray(raw) ? raw : [raw]).map(valueText);
  const { spec } = op;
  const base = { key: key.toLowerCase(), set: op.set, ifExists: op.ifExists, negated: spec.negated };
  if (spec.family === 'null') {
    return { ...base, nullWants: values.map((v) => v.toLowerCase() === 'true'), matchAny: () => false };
  }
  return { ...base, nullWants: null, matchAny: compileMatcher(spec, values, variables) };
}

function compileMatcher(
  spec: OperatorSpec,
  values: string[],
  variables: boolean,
): (value: string, ctx: EvalContext) => boolean {
  switch (spec.family) {
    case 'string':
    case 'stringIgnoreCase':
    case 'stringLike': {
      const lower = spec.family === 'stringIgnoreCase';
      const pats = values.map((v) => parsePattern(v, { wildcards: spec.family === 'stringLike', variables, lower }));
      return (value, ctx) => {
        const s = lower ? value.toLowerCase() : value;
        for (const p of pats) {
          const g = resolvePattern(p, ctx.lookup);
          if (g && globMatch(g, s)) return true;
        }
        return false;
      };
    }
    case 'numeric': {
      const nums = values.map(toNumber);
      return (value) => {
        const n = toNumber(value);
        return n !== null && nums.some((p) => p !== null && compare(spec.cmp, n, p));
      };
    }
    case 'date': {
      const times = values.map(toTime);
      return (value) => {
        const t = toTime(value);
        return t !== null && times.some((p) => p !== null && compare(spec.cmp, t, p));
      };
    }
    case 'bool': {
      const wanted = values.map((v) => v.toLowerCase());
      return (value) => wanted.includes(value.toLowerCase());
    }
    case 'binary':
      return (value) => values.includes(value);
    case 'ip': {
      const nets = values.map(parseCidr).filter((c): c is Cidr => c !== null);
      return (value) => {
        const ip = parseIp(value);
        return ip !== null && nets.some((n) => cidrContains(n, ip));
      };
    }
    case 'arn': {
      const arnPats = values.map((v) => compileArnPattern(v, variables));
      return (value, ctx) => {
        const fields = splitArn(value);
        return fields !== null && arnPats.some((p) => p !== null && arnFieldsMatch(p, fields, ctx.lookup));
      };
    }
    case 'null':
      return () => false;
  }
}

/** An ARN pattern compiled field by field (six fields, wildcards within each). */
export type ArnPattern = readonly Pattern[];

const ANY_ARN: ArnPattern = Array.from({ length: 6 }, () => parsePattern('*', { wildcards: true, variables: false }));

/** Compiles `arn:…` into six field patterns; null when the text is not ARN-shaped. */
export function compileArnPattern(src: string, variables: boolean): ArnPattern | null {
  if (src === '*') return ANY_ARN;
  const parts = parsePattern(src, { wildcards: true, variables }).parts;
  const fields = splitParts(parts, 6);
  if (fields.length !== 6) return null;
  const first = fields[0];
  if (first?.length !== 1 || first[0]?.t !== 'lit' || first[0].v !== 'arn') return null;
  return fields.map((f) => patternFromParts(f, false));
}

/** True when every field of the ARN matches its pattern. */
export function arnFieldsMatch(p: ArnPattern, fields: readonly string[], lookup: VariableLookup): boolean {
  for (let i = 0; i < 6; i++) {
    const pat = p[i];
    const field = fields[i];
    if (pat === undefined || field === undefined) return false;
    const g = resolvePattern(pat, lookup);
    if (!g || !globMatch(g, field)) return false;
  }
  return true;
}

/** Evaluates one compiled condition against the request context. */
export function conditionHolds(c: CompiledCondition, ctx: EvalContext): boolean {
  const vals = ctx.values.get(c.key);
  const present = vals !== undefined && vals.length > 0;
  if (c.nullWants) return c.nullWants.includes(!present);
  if (!present) {
    if (c.ifExists) return true;
    if (c.set === 'all') return true;
    if (c.set === 'any') return false;
    return c.negated;
  }
  const one = (v: string): boolean => c.matchAny(v, ctx) !== c.negated;
  if (c.set === 'all') return vals.every(one);
  if (c.set === 'any') return vals.some(one);
  // A multivalued key without a set operator: positive operators need any value to match,
  // negated ones need no value to match a policy value.
  return c.negated ? vals.every(one) : vals.some(one);
}
