/**
 * The EventBridge event-pattern language: compiles a pattern's JSON text into
 * conjunctions of field conditions, refusing bad patterns with the reasons (and parser
 * positions) EventBridge gives. `$or` is expanded here, so a pattern becomes a list of
 * alternatives, each a set of conditions on distinct field paths that must all hold.
 * Matching lives in matcher.ts; this module owns the syntax and each operator's meaning.
 */
import { JsonPositionError, JsonTokenizer, type TokenKind } from './json-tokens.js';

/** A leaf value of an event: what a condition is tested against. */
export type LeafValue = string | number | boolean | null;

/** One way a field's value may match (the elements of a pattern's value array). */
export type Matcher =
  | { kind: 'exact'; value: LeafValue }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; value: string; regex: RegExp }
  | { kind: 'anything-but'; strings: ReadonlySet<string>; numbers: readonly number[] }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix' | 'anything-but-ignore-case'; values: readonly string[] }
  | { kind: 'anything-but-wildcard'; values: readonly string[]; regexes: readonly RegExp[] }
  | { kind: 'numeric'; lower?: { value: number; open: boolean }; upper?: { value: number; open: boolean } }
  | { kind: 'exists'; value: boolean }
  | { kind: 'cidr'; version: 4 | 6; low: bigint; high: bigint };

/** A field path and the matchers any of which satisfies it. */
export interface Condition {
  path: readonly string[];
  matchers: readonly Matcher[];
}

/** Conditions on distinct paths, all of which must hold. */
export type Conjunction = readonly Condition[];

/** A compiled pattern: it matches an event when any of its conjunctions does. */
export interface CompiledPattern {
  conjunctions: readonly Conjunction[];
}

/** Why a pattern is refused: `reason` is the text after "Event pattern is not valid. Reason: ". */
export class PatternError extends Error {
  constructor(readonly reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'PatternError';
  }
}

/** A condition being built: later duplicates of a key replace earlier ones, as JSON readers do. */
type Draft = Map<string, { path: string[]; matchers: Matcher[] }>;

const RESERVED_IN_OR = new Set(['exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr']);

/** Keeps a runaway `$or` product from eating the process. */
const MAX_CONJUNCTIONS = 4096;

/**
 * Compiles an event pattern. Throws {@link PatternError} with EventBridge's reason.
 *
 * @example
 * const p = compilePattern('{"source":["aws.iam"],"detail":{"eventName":[{"prefix":"Create"}]}}');
 * p.conjunctions.length; // 1
 */
export function compilePattern(text: string): CompiledPattern {
  const parser = new JsonTokenizer(text);
  try {
    if (parser.next() !== 'START_OBJECT') parser.fail('Filter is not an object');
    let drafts: Draft[] = [];
    drafts = parseObject(parser, drafts, [], false);
    const end = parser.next();
    if (end !== 'END') parser.fail('Unexpected content after the pattern');
    if (drafts.length === 0) drafts = [new Map() as Draft];
    return {
      conjunctions: drafts.map((d) => [...d.values()].map((c) => ({ path: c.path, matchers: c.matchers }))),
    };
  } catch (e) {
    if (e instanceof JsonPositionError) throw new PatternError(e.reason);
    throw e;
  }
}

/** The pattern's own field names joined for map keys (a NUL never occurs in a parsed key's meaning). */
function pathKey(path: readonly string[]): string {
  return path.join('\u0000');
}

function copyDrafts(drafts: Draft[]): Draft[] {
  return drafts.map((d) => new Map(d));
}

function parseObject(parser: JsonTokenizer, drafts: Draft[], path: string[], insideOr: boolean): Draft[] {
  let fields = 0;
  for (let t = parser.next(); t !== 'END_OBJECT'; t = parser.next()) {
    fields++;
    const name = parser.fieldName;
    if (name === '$or') {
      drafts = parseOr(parser, drafts, path);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(name)) parser.fail(`${name} is Ruler reserved fieldName which cannot be used inside $or.`);
    const value = parser.next();
    if (value === 'START_OBJECT') drafts = parseObject(parser, drafts, [...path, name], insideOr);
    else if (value === 'START_ARRAY') drafts = writeCondition(parser, drafts, [...path, name]);
    else parser.fail(`"${name}" must be an object or an array`);
  }
  if (fields === 0) parser.fail('Empty objects are not allowed');
  return drafts;
}

function parseOr(parser: JsonTokenizer, drafts: Draft[], path: string[]): Draft[] {
  const base = drafts.length === 0 ? [new Map() as Draft] : drafts;
  if (parser.next() !== 'START_ARRAY') parser.fail('It must be an Array followed with $or.');
  const result: Draft[] = [];
  let branches = 0;
  for (let t = parser.next(); t !== 'END_ARRAY'; t = parser.next()) {
    branches++;
    if (t !== 'START_OBJECT') parser.fail('Only JSON object is allowed in array of $or relationship.');
    result.push(...parseObject(parser, copyDrafts(base), path, true));
    if (result.length > MAX_CONJUNCTIONS) parser.fail('Rule is too complex');
  }
  if (branches < 2) parser.fail('There must have at least 2 Objects in $or relationship.');
  return result;
}

function writeCondition(parser: JsonTokenizer, drafts: Draft[], path: string[]): Draft[] {
  const matchers: Matcher[] = [];
  for (let t = parser.next(); t !== 'END_ARRAY'; t = parser.next()) {
    switch (t) {
      case 'START_OBJECT':
        matchers.push(matchExpression(parser));
        break;
      case 'VALUE_STRING':
        matchers.push({ kind: 'exact', value: parser.getText() });
        break;
      case 'VALUE_NUMBER_INT':
      case 'VALUE_NUMBER_FLOAT':
        matchers.push({ kind: 'exact', value: Number(parser.getText()) });
        break;
      case 'VALUE_TRUE':
        matchers.push({ kind: 'exact', value: true });
        break;
      case 'VALUE_FALSE':
        matchers.push({ kind: 'exact', value: false });
        break;
      case 'VALUE_NULL':
        matchers.push({ kind: 'exact', value: null });
        break;
      default:
        parser.fail('Match value must be String, number, true, false, or null');
    }
  }
  if (matchers.length === 0) parser.fail('Empty arrays are not allowed');
  const out = drafts.length === 0 ? [new Map() as Draft] : drafts;
  for (const d of out) d.set(pathKey(path), { path, matchers });
  return out;
}

/** One `{ "<operator>": ... }` element of a value array. */
function matchExpression(parser: JsonTokenizer): Matcher {
  if (parser.next() !== 'FIELD_NAME') parser.fail('Match expression name not found');
  const op = parser.fieldName;
  const onlyOneKey = (): void => {
    if (parser.next() !== 'END_OBJECT') parser.fail('Only one key allowed in match expression');
  };
  switch (op) {
    case 'exactly': {
      if (parser.next() !== 'VALUE_STRING') parser.fail('exact match pattern must be a string');
      const value = parser.getText();
      onlyOneKey();
      return { kind: 'exact', value };
    }
    case 'prefix':
    case 'suffix': {
      const t = parser.next();
      if (t === 'START_OBJECT') return affixIgnoreCase(parser, op);
      if (t !== 'VALUE_STRING') parser.fail(`${op} match pattern must be a string`);
      const value = parser.getText();
      onlyOneKey();
      return { kind: op, value, ignoreCase: false };
    }
    case 'equals-ignore-case': {
      if (parser.next() !== 'VALUE_STRING') parser.fail('equals-ignore-case match pattern must be a string');
      const value = parser.getText();
      onlyOneKey();
      return { kind: 'equals-ignore-case', value: foldCase(value) };
    }
    case 'wildcard': {
      if (parser.next() !== 'VALUE_STRING') parser.fail('wildcard match pattern must be a string');
      const value = parser.getText();
      const regex = wildcardRegex(parser, value);
      onlyOneKey();
      return { kind: 'wildcard', value, regex };
    }
    case 'numeric': {
      if (parser.next() !== 'START_ARRAY') parser.fail('Value of numeric must be an array.');
      const range = numericExpression(parser);
      if (parser.next() !== 'END_OBJECT') parser.fail('Too many elements in numeric expression');
      return range;
    }
    case 'anything-but':
      return anythingBut(parser);
    case 'exists': {
      const t = parser.next();
      if (t !== 'VALUE_TRUE' && t !== 'VALUE_FALSE') parser.fail('exists match pattern must be either true or false.');
      onlyOneKey();
      return { kind: 'exists', value: t === 'VALUE_TRUE' };
    }
    case 'cidr': {
      if (parser.next() !== 'VALUE_STRING') parser.fail('prefix match pattern must be a string');
      const cidr = parseCidr(parser, parser.getText());
      onlyOneKey();
      return cidr;
    }
    default:
      parser.fail(`Unrecognized match type ${op}`);
  }
}

/** `{"prefix": {"equals-ignore-case": "..."}}` and its suffix twin. */
function affixIgnoreCase(parser: JsonTokenizer, op: 'prefix' | 'suffix'): Matcher {
  const Op = op === 'prefix' ? 'Prefix' : 'Suffix';
  if (parser.next() !== 'FIELD_NAME') parser.fail(`${Op} expression name not found`);
  if (parser.fieldName !== 'equals-ignore-case') parser.fail(`Unsupported ${op} pattern: ${parser.fieldName}`);
  if (parser.next() !== 'VALUE_STRING') parser.fail('equals-ignore-case match pattern must be a string');
  const value = parser.getText();
  if (parser.next() !== 'END_OBJECT') parser.fail('Only one key allowed in match expression');
  if (parser.next() !== 'END_OBJECT') parser.fail('Only one key allowed in match expression');
  return { kind: op, value: foldCase(value), ignoreCase: true };
}

function anythingBut(parser: JsonTokenizer): Matcher {
  let t: TokenKind = parser.next();
  let variant: 'plain' | 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard' = 'plain';
  if (t === 'START_OBJECT') {
    if (parser.next() !== 'FIELD_NAME') parser.fail('Anything-But expression name not found');
    const op = parser.fieldName;
    if (op !== 'equals-ignore-case' && op !== 'prefix' && op !== 'suffix' && op !== 'wildcard') {
      parser.fail(`Unsupported anything-but pattern: ${op}`);
    }
    variant = op;
    t = parser.next();
  }
  if (t !== 'START_ARRAY' && t !== 'VALUE_STRING' && t !== 'VALUE_NUMBER_INT' && t !== 'VALUE_NUMBER_FLOAT') {
    parser.fail('Value of anything-but must be an array or single string/number value.');
  }
  let matcher: Matcher;
  if (variant === 'plain') {
    const strings = new Set<string>();
    const numbers: number[] = [];
    const take = (kind: TokenKind, inList: boolean): void => {
      if (kind === 'VALUE_STRING') strings.add(parser.getText());
      else if (kind === 'VALUE_NUMBER_INT' || kind === 'VALUE_NUMBER_FLOAT') numbers.push(comparableNumber(parser, parser.getText()));
      else parser.fail(inList ? 'Inside anything but list, start|null|boolean is not supported.' : 'Inside anything-but list, start|null|boolean is not supported.');
    };
    if (t === 'START_ARRAY') {
      for (let v = parser.next(); v !== 'END_ARRAY'; v = parser.next()) take(v, true);
      if ((strings.size > 0) === (numbers.length > 0)) {
        parser.fail('Inside anything but list, either all values are number or string, mixed type is not supported');
      }
    } else take(t, false);
    matcher = { kind: 'anything-but', strings, numbers };
  } else {
    const values: string[] = [];
    const take = (kind: TokenKind): void => {
      if (kind !== 'VALUE_STRING') {
        if (variant === 'equals-ignore-case') parser.fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
        if (variant === 'wildcard') parser.fail('wildcard match pattern must be a string');
        parser.fail('prefix/suffix match pattern must be a string');
      }
      const text = parser.getText();
      if ((variant === 'prefix' || variant === 'suffix') && text === '') parser.fail('Null prefix/suffix not allowed');
      values.push(text);
    };
    if (t === 'START_ARRAY') for (let v = parser.next(); v !== 'END_ARRAY'; v = parser.next()) take(v);
    else take(t);
    if (variant === 'wildcard') {
      matcher = { kind: 'anything-but-wildcard', values, regexes: values.map((v) => wildcardRegex(parser, v)) };
    } else if (variant === 'equals-ignore-case') {
      matcher = { kind: 'anything-but-ignore-case', values: values.map(foldCase) };
    } else {
      matcher = { kind: variant === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', values };
    }
  }
  if (parser.next() !== 'END_OBJECT') parser.fail('Too many elements in numeric expression');
  if (variant !== 'plain' && parser.next() !== 'END_OBJECT') parser.fail('Too many elements in numeric expression');
  return matcher;
}

const isNumberToken = (t: TokenKind): boolean => t === 'VALUE_NUMBER_INT' || t === 'VALUE_NUMBER_FLOAT';

/** `["<op>", n]` or `[">"|">=", n, "<"|"<=", m]`. */
function numericExpression(parser: JsonTokenizer): Matcher {
  if (parser.next() !== 'VALUE_STRING') parser.fail(`Invalid member in numeric match: ${parser.getText()}`);
  const op = parser.getText();
  let t = parser.next();
  const valueOf = (name: string): number => {
    if (!isNumberToken(t)) parser.fail(`Value of ${name} must be numeric`);
    return comparableNumber(parser, parser.getText());
  };
  switch (op) {
    case '=': {
      const value = valueOf('equals');
      if (parser.next() !== 'END_ARRAY') parser.fail('Too many elements in numeric expression');
      return { kind: 'numeric', lower: { value, open: false }, upper: { value, open: false } };
    }
    case '<':
    case '<=': {
      const value = valueOf(op);
      if (parser.next() !== 'END_ARRAY') parser.fail('Too many elements in numeric expression');
      return { kind: 'numeric', upper: { value, open: op === '<' } };
    }
    case '>':
    case '>=': {
      const bottom = valueOf(op);
      t = parser.next();
      if (t === 'END_ARRAY') return { kind: 'numeric', lower: { value: bottom, open: op === '>' } };
      if (t !== 'VALUE_STRING') parser.fail(`Bad value in numeric range: ${parser.getText()}`);
      const topOp = parser.getText();
      if (topOp !== '<' && topOp !== '<=') parser.fail(`Bad numeric range operator: ${topOp}`);
      t = parser.next();
      const top = valueOf(topOp);
      if (parser.next() !== 'END_ARRAY') parser.fail('Too many terms in numeric range expression');
      if (!(bottom < top)) parser.fail('Bottom must be less than top');
      return { kind: 'numeric', lower: { value: bottom, open: op === '>' }, upper: { value: top, open: topOp === '<' } };
    }
    default:
      parser.fail(`Unrecognized numeric range operator: ${op}`);
  }
}

/**
 * A number numeric matching can compare: any finite double, written so that the double
 * holds it exactly in decimal (EventBridge refuses `0.30000000000000001`, which would
 * silently become 0.3).
 */
function comparableNumber(parser: JsonTokenizer, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || canonicalDecimal(text) !== canonicalDecimal(String(value))) {
    parser.fail(`Cannot compare number : ${text}`);
  }
  return value;
}

/** A decimal literal as sign, significant digits and exponent, for exact comparison. */
export function canonicalDecimal(text: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const digits = (m[2] ?? '') + (m[3] ?? '');
  let exp = Number(m[4] ?? 0) + (m[2] ?? '').length;
  const lead = digits.search(/[1-9]/);
  if (lead < 0) return '0';
  exp -= lead;
  const significant = digits.slice(lead).replace(/0+$/, '');
  return `${m[1] === '-' ? '-' : ''}${significant}e${exp}`;
}

/** Case folding for the equals-ignore-case family (both sides are folded the same way). */
export function foldCase(s: string): string {
  return s.toLowerCase();
}

/**
 * A wildcard value as a whole-string regex: `*` matches any run of characters, `\*` and
 * `\\` stand for themselves, and nothing else may follow a backslash. Positions in the
 * messages count UTF-8 bytes from the opening quote, as EventBridge does.
 */
function wildcardRegex(parser: JsonTokenizer, value: string): RegExp {
  let source = '';
  let pos = 1;
  const chars = [...value];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    if (c === '*') {
      if (chars[i + 1] === '*') parser.fail(`Consecutive wildcard characters at pos ${pos}`);
      source += '[\\s\\S]*';
    } else if (c === '\\') {
      const n = chars[i + 1];
      if (n !== '*' && n !== '\\') parser.fail(`Invalid escape character at pos ${pos}`);
      source += n === '*' ? '\\*' : '\\\\';
      i++;
      pos++;
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    pos += Buffer.byteLength(c);
  }
  return new RegExp(`^${source}$`, 'u');
}

/** An IP address (dotted IPv4, or IPv6 with `::` and an optional dotted tail) as a number. */
export function parseIp(text: string): { version: 4 | 6; value: bigint } | undefined {
  const v4 = (s: string): bigint | undefined => {
    const parts = s.split('.');
    if (parts.length !== 4) return undefined;
    let n = 0n;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      n = (n << 8n) | BigInt(Number(p));
    }
    return n;
  };
  if (!text.includes(':')) {
    const n = v4(text);
    return n === undefined ? undefined : { version: 4, value: n };
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let groups: string[] = [];
  let tail: bigint | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = v4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    body = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const split = (s: string): string[] => (s === '' ? [] : s.split(':'));
  if (halves.length === 2) {
    const left = split(halves[0] ?? '');
    const right = split(halves[1] ?? '');
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array<string>(missing).fill('0'), ...right];
  } else groups = split(body);
  if (groups.length !== 8) return undefined;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== undefined) n = (n & ~0xffffffffn) | tail;
  return { version: 6, value: n };
}

function parseCidr(parser: JsonTokenizer, text: string): Matcher {
  const parts = text.split('/');
  if (parts.length !== 2) parser.fail("Malformed CIDR, one '/' required");
  const bitsText = parts[1] ?? '';
  if (!/^[+-]?\d+$/.test(bitsText)) parser.fail('Malformed CIDR, mask bits must be an integer');
  const bits = Number(bitsText);
  if (bits < 0) parser.fail('Malformed CIDR, mask bits must not be negative');
  const address = parts[0] ?? '';
  const looksLikeIp = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(address) || /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/.test(address);
  const ip = looksLikeIp ? parseIp(address) : undefined;
  if (looksLikeIp && !ip) parser.fail(`Invalid IP address: ${address}`);
  if (!ip) parser.fail(`Nonstandard IP address: ${address}`);
  const width = ip.version === 4 ? 32 : 128;
  if (bits > width - 1) parser.fail(ip.version === 4 ? 'IPv4 mask bits must be < 32' : 'IPv6 mask bits must be < 128');
  const hostBits = BigInt(width - bits);
  const hostMask = (1n << hostBits) - 1n;
  return { kind: 'cidr', version: ip.version, low: ip.value & ~hostMask, high: ip.value | hostMask };
}

/** True when the leaf `value` satisfies `m` (for every matcher but `exists`, which is about presence). */
export function leafMatches(m: Matcher, value: LeafValue): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return typeof value === 'string' && (m.ignoreCase ? foldCase(value) : value).startsWith(m.value);
    case 'suffix':
      return typeof value === 'string' && (m.ignoreCase ? foldCase(value) : value).endsWith(m.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && foldCase(value) === m.value;
    case 'wildcard':
      return typeof value === 'string' && m.regex.test(value);
    case 'anything-but':
      if (m.numbers.length > 0) return typeof value === 'number' && !m.numbers.includes(value);
      return typeof value !== 'string' || !m.strings.has(value);
    case 'anything-but-prefix':
      return typeof value !== 'string' || !m.values.some((v) => value.startsWith(v));
    case 'anything-but-suffix':
      return typeof value !== 'string' || !m.values.some((v) => value.endsWith(v));
    case 'anything-but-ignore-case':
      return typeof value !== 'string' || !m.values.includes(foldCase(value));
    case 'anything-but-wildcard':
      return typeof value !== 'string' || !m.regexes.some((r) => r.test(value));
    case 'numeric': {
      if (typeof value !== 'number') return false;
      if (m.lower && (m.lower.open ? !(value > m.lower.value) : !(value >= m.lower.value))) return false;
      if (m.upper && (m.upper.open ? !(value < m.upper.value) : !(value <= m.upper.value))) return false;
      return true;
    }
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const ip = parseIp(value);
      return ip !== undefined && ip.version === m.version && ip.value >= m.low && ip.value <= m.high;
    }
    case 'exists':
      return m.value;
  }
}
