/**
 * CloudWatch Logs filter patterns, compiled once and evaluated many times: term patterns
 * (`ERROR -ARGUMENTS`, `?ERROR ?WARN`, `"exact phrase"`), standalone regular expressions
 * (`%...%`), JSON patterns (`{ $.eventName = "ConsoleLogin" && $.errorCode = * }`) and
 * space-delimited patterns (`[ip, user, ..., status_code = 4*, bytes > 1000]`), with the
 * semantics AWS's "Filter pattern syntax" page documents. A {@link LogLine} parses its JSON
 * at most once, so many patterns can be evaluated against one event for one parse.
 */
import { compileComparison, isNumberText, type ValueTest } from './compare.js';
import { FilterPatternError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { compileRegex } from './regex.js';

export { FilterPatternError } from './errors.js';

/** The longest filter pattern CloudWatch Logs accepts. */
export const MAX_PATTERN_LENGTH = 1024;
/** Regular expressions one JSON or space-delimited pattern may hold. */
export const MAX_REGEX_PER_PATTERN = 2;
/** Wildcard selectors (`[*]`, `.*`) one JSON pattern may hold. */
export const MAX_WILDCARDS_PER_PATTERN = 3;

const NOT_JSON: unique symbol = Symbol('not-json');
const UNPARSED: unique symbol = Symbol('unparsed');

/**
 * One log event's message, with its JSON parsed on first use and kept: every pattern
 * evaluated against the line shares the one parse.
 *
 * @example
 * const line = new LogLine(record);
 * const hits = filters.filter((f) => f.test(line));
 */
export class LogLine {
  private parsed: unknown = UNPARSED;
  constructor(readonly text: string) {}

  /** The message's JSON value, or undefined when it is not a JSON object. */
  json(): unknown {
    if (this.parsed === UNPARSED) this.parsed = parseJsonObject(this.text);
    return this.parsed === NOT_JSON ? undefined : this.parsed;
  }
}

function parseJsonObject(text: string): unknown {
  // Only messages that are a JSON object are JSON log events.
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  if (text[i] !== '{') return NOT_JSON;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

/** What a space-delimited pattern extracted: `$name` for named fields, `$N` (1-based) for the others. */
export type ExtractedValues = Record<string, string>;

/** A compiled filter pattern. */
export interface FilterPattern {
  readonly text: string;
  readonly kind: 'all' | 'terms' | 'regex' | 'json' | 'delimited';
  /** The named fields of a space-delimited pattern (without `$`); empty for other kinds. */
  readonly fieldNames: readonly string[];
  /** Whether the event matches. */
  test(line: LogLine): boolean;
  /** The extracted values when the event matches (empty unless space-delimited), else undefined. */
  match(line: LogLine): ExtractedValues | undefined;
}

const EMPTY: ExtractedValues = Object.freeze({});

/**
 * Compiles a filter pattern. Throws {@link FilterPatternError} with a message saying what
 * is wrong and where.
 *
 * @example
 * const p = compileFilterPattern('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }');
 * p.test(new LogLine('{"errorCode":"AccessDenied"}')) // true
 */
export function compileFilterPattern(text: string): FilterPattern {
  if (text.length > MAX_PATTERN_LENGTH) throw new FilterPatternError(`The pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  const trimmed = text.trim();
  const lead = text.length - text.trimStart().length;
  if (trimmed === '') return allPattern(text);
  if (trimmed.startsWith('{')) return jsonPattern(text, trimmed, lead);
  if (trimmed.startsWith('[')) return delimitedPattern(text, trimmed, lead);
  if (trimmed.length >= 2 && trimmed.startsWith('%') && trimmed.endsWith('%')) {
    const regex = compileRegex(trimmed.slice(1, -1));
    return simple(text, 'regex', (line) => regex.test(line.text));
  }
  return termsPattern(text, trimmed);
}

function allPattern(text: string): FilterPattern {
  return simple(text, 'all', () => true);
}

function simple(text: string, kind: FilterPattern['kind'], test: (line: LogLine) => boolean): FilterPattern {
  return { text, kind, fieldNames: [], test, match: (line) => (test(line) ? EMPTY : undefined) };
}

// ------------------------------------------------------------------ terms

function termsPattern(text: string, body: string): FilterPattern {
  const required: string[] = [];
  const excluded: string[] = [];
  const optional: string[] = [];
  let i = 0;
  let matchesAll = false;
  while (i < body.length) {
    const ch = body[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    let bucket = required;
    if (ch === '?' || ch === '-') {
      bucket = ch === '?' ? optional : excluded;
      i++;
      // `"ERROR" - "Exiting"`: AWS's own example puts a space after the minus.
      while (i < body.length && /\s/.test(body[i] ?? '')) i++;
      if (i >= body.length) throw new FilterPatternError(`Expected a term after '${ch}' at position ${i}`);
    }
    let term = '';
    if (body[i] === '"') {
      const start = i;
      i++;
      for (;;) {
        const c = body[i];
        if (c === undefined) throw new FilterPatternError(`Unterminated quoted phrase at position ${start + 1}`);
        if (c === '\\' && (body[i + 1] === '"' || body[i + 1] === '\\')) {
          term += body[i + 1] ?? '';
          i += 2;
          continue;
        }
        i++;
        if (c === '"') break;
        term += c;
      }
      // `" "` (or `""`) matches every event, as AWS documents.
      if (term.trim() === '') {
        if (bucket === required) matchesAll = true;
        continue;
      }
    } else {
      const start = i;
      while (i < body.length && !/\s/.test(body[i] ?? '')) i++;
      term = body.slice(start, i);
      if (term.includes('"')) throw new FilterPatternError(`Unexpected '"' in term '${term}' at position ${start + 1}`);
    }
    bucket.push(term);
  }
  // `?` terms count only when the pattern has nothing else: AWS ignores them otherwise.
  const useOptional = required.length === 0 && excluded.length === 0 && optional.length > 0;
  if (!useOptional && required.length === 0 && excluded.length === 0 && !matchesAll) {
    return allPattern(text);
  }
  const test = (line: LogLine): boolean => {
    const message = line.text;
    for (const t of required) if (!message.includes(t)) return false;
    for (const t of excluded) if (message.includes(t)) return false;
    if (useOptional) {
      for (const t of optional) if (message.includes(t)) return true;
      return false;
    }
    return true;
  };
  return simple(text, 'terms', test);
}

// ------------------------------------------------------------------ shared expression parser

type Expr<T> = (ctx: T) => boolean;

interface Budget {
  regexes: number;
  wildcards: number;
}

/** A recursive-descent parser of `&&`, `||` and parentheses over conditions it is given. */
class ExprParser<T> {
  pos = 0;
  constructor(
    readonly tokens: Token[],
    readonly offset: number,
    readonly condition: (parser: ExprParser<T>) => Expr<T>,
    /** Lets a pattern kind replace an `||` of conditions with something faster. */
    readonly optimizeOr?: (parts: Expr<T>[]) => Expr<T> | undefined,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  next(what: string): Token {
    const t = this.tokens[this.pos];
    if (!t) this.fail(`Expected ${what} at the end of the pattern`);
    this.pos++;
    return t;
  }

  fail(message: string, token?: Token): never {
    throw new FilterPatternError(token ? `${message} at position ${this.offset + token.at + 1}` : message);
  }

  where(token: Token): number {
    return this.offset + token.at + 1;
  }

  or(): Expr<T> {
    const parts = [this.and()];
    while (this.peek()?.text === '||' && this.peek()?.kind === 'punct') {
      this.pos++;
      parts.push(this.and());
    }
    if (parts.length === 1 && parts[0]) return parts[0];
    const optimized = this.optimizeOr?.(parts);
    if (optimized) return optimized;
    return (ctx) => {
      for (const p of parts) if (p(ctx)) return true;
      return false;
    };
  }

  and(): Expr<T> {
    const parts = [this.unary()];
    while (this.peek()?.text === '&&' && this.peek()?.kind === 'punct') {
      this.pos++;
      parts.push(this.unary());
    }
    if (parts.length === 1 && parts[0]) return parts[0];
    return (ctx) => {
      for (const p of parts) if (!p(ctx)) return false;
      return true;
    };
  }

  unary(): Expr<T> {
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === '(') {
      this.pos++;
      const inner = this.or();
      const close = this.next("')'");
      if (close.kind !== 'punct' || close.text !== ')') this.fail(`Expected ')' but found '${close.text}'`, close);
      return inner;
    }
    return this.condition(this);
  }
}

function countRegex(token: Token, budget: Budget, parser: { fail(message: string, token?: Token): never }): void {
  if (token.kind !== 'regex') return;
  budget.regexes++;
  if (budget.regexes > MAX_REGEX_PER_PATTERN) {
    parser.fail(`A filter pattern may contain at most ${MAX_REGEX_PER_PATTERN} regular expressions`, token);
  }
}

// ------------------------------------------------------------------ JSON patterns

type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'any' };

const MISSING: unique symbol = Symbol('missing');


/** One step into a parsed JSON value; MISSING when the value has no such member. */
function step(value: unknown, s: PathStep): unknown {
  if (value === null || typeof value !== 'object') return MISSING;
  if (s.kind === 'key') {
    if (Array.isArray(value)) return MISSING;
    const v = (value as Record<string, unknown>)[s.key];
    // JSON values are never undefined or functions: those are absent or inherited members.
    if (v === undefined || typeof v === 'function') return MISSING;
    if (s.key === '__proto__' && !Object.hasOwn(value, s.key)) return MISSING;
    return v;
  }
  if (s.kind === 'index') {
    if (!Array.isArray(value) || s.index >= value.length) return MISSING;
    return value[s.index] as unknown;
  }
  return MISSING;
}

/**
 * What a path reaches: without a wildcard one value (or MISSING); through a wildcard the
 * values of every element or member it reaches (MISSING when none).
 */
type Resolver = { multi: false; get: (root: unknown) => unknown } | { multi: true; get: (root: unknown) => unknown[] | typeof MISSING };

/** Parses `$.a.b[0]`, `$.a[*]`, `$.*`, `$.['cluster.name']` into steps. */
export function parseSelector(text: string, position = 1): PathStep[] {
  const fail = (message: string): never => {
    throw new FilterPatternError(`${message} in selector '${text}' at position ${position}`);
  };
  if (!text.startsWith('$')) fail('A selector starts with $');
  const steps: PathStep[] = [];
  let i = 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      i++;
      if (text[i] === '[') continue;
      if (text[i] === '*') {
        steps.push({ kind: 'any' });
        i++;
        continue;
      }
      const m = /^[A-Za-z0-9_\-@:]+/.exec(text.slice(i));
      if (!m) return fail('Expected a property name');
      steps.push({ kind: 'key', key: m[0] });
      i += m[0].length;
    } else if (ch === '[') {
      const close = text.indexOf(']', i);
      const inner = text.slice(i + 1, close < 0 ? text.length : close);
      const quoted = /^(['"])(.*)\1$/.exec(inner);
      if (close < 0) fail("Unclosed '['");
      if (quoted) steps.push({ kind: 'key', key: quoted[2] ?? '' });
      else if (inner === '*') steps.push({ kind: 'any' });
      else if (/^\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else fail(`Invalid array index [${inner}]`);
      i = close + 1;
    } else {
      fail(`Unexpected '${ch ?? ''}'`);
    }
  }
  if (steps.length === 0) fail('A selector names a property, as in $.eventName');
  if (steps[0]?.kind === 'index') fail('Array elements must follow a property');
  return steps;
}

function compileResolver(steps: PathStep[]): Resolver {
  const wildcard = steps.findIndex((s) => s.kind === 'any');
  if (wildcard < 0) {
    const [first, second] = steps;
    // The common selectors ($.eventName, $.userIdentity.type) get straight-line code.
    if (steps.length === 1 && first) return { multi: false, get: (root) => step(root, first) };
    if (steps.length === 2 && first && second) {
      return {
        multi: false,
        get: (root) => {
          const v = step(root, first);
          return v === MISSING ? MISSING : step(v, second);
        },
      };
    }
    return {
      multi: false,
      get: (root) => {
        let v: unknown = root;
        for (const s of steps) {
          v = step(v, s);
          if (v === MISSING) return MISSING;
        }
        return v;
      },
    };
  }
  const before = steps.slice(0, wildcard);
  const after = steps.slice(wildcard + 1);
  return {
    multi: true,
    get: (root) => {
      let v: unknown = root;
      for (const s of before) {
        v = step(v, s);
        if (v === MISSING) return MISSING;
      }
      if (v === null || typeof v !== 'object') return MISSING;
      const out: unknown[] = [];
      const children = Array.isArray(v) ? (v as unknown[]) : Object.values(v as Record<string, unknown>);
      for (const child of children) {
        let c: unknown = child;
        for (const s of after) {
          c = step(c, s);
          if (c === MISSING) break;
        }
        if (c !== MISSING) out.push(c);
      }
      return out.length === 0 ? MISSING : out;
    },
  };
}

/** Applies a test to what a path reaches: true if any value passes (for a wildcard, any element). */
function anyValue(resolve: Resolver, test: (value: unknown) => boolean): Expr<unknown> {
  if (!resolve.multi) {
    const get = resolve.get;
    return (root) => {
      const v = get(root);
      return v !== MISSING && test(v);
    };
  }
  const get = resolve.get;
  return (root) => {
    const r = get(root);
    if (r === MISSING) return false;
    for (const v of r) if (test(v)) return true;
    return false;
  };
}

/**
 * Exact string equalities (`$.eventName = CreateVpc`), remembered so that an `||` of
 * several on one selector (most CIS filters) compiles into one lookup in a set.
 */
interface Equality {
  selector: string;
  resolve: Resolver;
  value: string;
}
const equalities = new WeakMap<Expr<unknown>, Equality>();

/** `a = x || a = y || ...` on one selector without wildcards, as one set lookup; undefined otherwise. */
function equalitySet(parts: Expr<unknown>[]): Expr<unknown> | undefined {
  const eqs = parts.map((p) => equalities.get(p));
  const first = eqs[0];
  if (!first || first.resolve.multi || eqs.some((e) => e === undefined || e.selector !== first.selector)) return undefined;
  const values = new Set(eqs.map((e) => e?.value ?? ''));
  const get = first.resolve.get;
  return (root) => {
    const v = get(root);
    if (typeof v === 'string') return values.has(v);
    if (typeof v === 'number' || typeof v === 'boolean') return values.has(String(v));
    return false;
  };
}

function jsonPattern(text: string, trimmed: string, lead: number): FilterPattern {
  if (!trimmed.endsWith('}')) throw new FilterPatternError("A JSON filter pattern must end with '}'");
  const body = trimmed.slice(1, -1);
  const tokens = tokenize(body, lead + 1);
  if (tokens.length === 0) throw new FilterPatternError('A JSON filter pattern needs at least one condition');
  const budget: Budget = { regexes: 0, wildcards: 0 };
  const parser = new ExprParser<unknown>(tokens, lead + 1, (p) => jsonCondition(p, budget), equalitySet);
  const expr = parser.or();
  const rest = parser.peek();
  if (rest) parser.fail(`Unexpected '${rest.text}'`, rest);
  const test = (line: LogLine): boolean => {
    const json = line.json();
    return json !== undefined && expr(json);
  };
  return simple(text, 'json', test);
}

function jsonCondition(p: ExprParser<unknown>, budget: Budget): Expr<unknown> {
  const sel = p.next('a selector such as $.eventName');
  if (sel.kind !== 'selector') p.fail(`Expected a selector such as $.eventName but found '${sel.text}'`, sel);
  const steps = parseSelector(sel.text, p.where(sel));
  const wildcards = steps.filter((s) => s.kind === 'any').length;
  if (wildcards > 1) p.fail('A selector may contain at most one wildcard', sel);
  budget.wildcards += wildcards;
  if (budget.wildcards > MAX_WILDCARDS_PER_PATTERN) p.fail(`A filter pattern may contain at most ${MAX_WILDCARDS_PER_PATTERN} wildcard selectors`, sel);
  const resolve = compileResolver(steps);
  const t = p.next('an operator, IS or NOT EXISTS');
  if (t.kind === 'word' && t.text.toUpperCase() === 'IS') {
    const what = p.next('NULL, TRUE or FALSE');
    switch (what.text.toUpperCase()) {
      case 'NULL':
        return anyValue(resolve, (v) => v === null);
      case 'TRUE':
        return anyValue(resolve, (v) => v === true);
      case 'FALSE':
        return anyValue(resolve, (v) => v === false);
      case 'NOT':
        return p.fail('IS NOT is not supported', what);
      default:
        return p.fail(`Expected NULL, TRUE or FALSE after IS but found '${what.text}'`, what);
    }
  }
  if (t.kind === 'word' && t.text.toUpperCase() === 'NOT') {
    const what = p.next('EXISTS');
    if (what.text.toUpperCase() !== 'EXISTS') p.fail(`Expected EXISTS after NOT but found '${what.text}'`, what);
    const get = resolve.get;
    return (root) => get(root) === MISSING;
  }
  if (t.kind === 'word' && t.text.toUpperCase() === 'EXISTS') p.fail('EXISTS is not supported; use NOT EXISTS or = *', t);
  if (t.kind !== 'op') return p.fail(`Expected an operator after ${sel.text} but found '${t.text}'`, t);
  const value = p.next(`a value after ${t.text}`);
  countRegex(value, budget, p);
  if (value.kind === 'punct' || value.kind === 'op' || value.kind === 'selector') p.fail(`Expected a value after ${t.text} but found '${value.text}'`, value);
  const expr = anyValue(resolve, compileComparison(t.text, value, p.where(value)));
  const exact = t.text === '=' && (value.kind === 'string' || value.kind === 'word') && !value.text.includes('*') && !isNumberText(value.text);
  if (exact && !resolve.multi) equalities.set(expr, { selector: sel.text, resolve, value: value.text });
  return expr;
}

// ------------------------------------------------------------------ space-delimited patterns

type Field = { kind: 'ellipsis' } | { kind: 'field'; name?: string; condition?: Expr<FieldEnv> };

interface FieldEnv {
  get(name: string): string | undefined;
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a delimited pattern's tokens at its top-level commas. */
function splitFields(tokens: Token[]): Token[][] {
  const fields: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    if (t.kind === 'punct' && t.text === ',' && depth === 0) {
      fields.push([]);
      continue;
    }
    fields[fields.length - 1]?.push(t);
  }
  return fields;
}

function delimitedCondition(p: ExprParser<FieldEnv>, budget: Budget, referenced: Token[]): Expr<FieldEnv> {
  const name = p.next('a field name');
  if (name.kind !== 'word' || !FIELD_NAME.test(name.text)) p.fail(`Expected a field name but found '${name.text}'`, name);
  referenced.push(name);
  const op = p.next(`an operator after ${name.text}`);
  if (op.kind !== 'op') p.fail(`Expected an operator after ${name.text} but found '${op.text}'`, op);
  const value = p.next(`a value after ${op.text}`);
  countRegex(value, budget, p);
  if (value.kind !== 'word' && value.kind !== 'string' && value.kind !== 'regex') {
    p.fail(`Expected a value after ${op.text} but found '${value.text}'`, value);
  }
  const test: ValueTest = compileComparison(op.text, value, p.where(value));
  const field = name.text;
  return (env) => {
    const v = env.get(field);
    return v !== undefined && test(v);
  };
}

/** A log line's space-delimited fields: `[...]` and `"..."` are one field each, without their delimiters. */
export function splitDelimited(line: string): { value: string; start: number }[] {
  const out: { value: string; start: number }[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const ch = line[i];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (ch === '"' || ch === '[') {
      const close = line.indexOf(ch === '"' ? '"' : ']', i + 1);
      const end = close < 0 ? n : close;
      out.push({ value: line.slice(i + 1, end), start });
      i = close < 0 ? n : close + 1;
      continue;
    }
    while (i < n && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '\n' && line[i] !== '\r') i++;
    out.push({ value: line.slice(start, i), start });
  }
  return out;
}

function delimitedPattern(text: string, trimmed: string, lead: number): FilterPattern {
  if (!trimmed.endsWith(']')) throw new FilterPatternError("A space-delimited filter pattern must end with ']'");
  const tokens = tokenize(trimmed.slice(1, -1), lead + 1);
  const budget: Budget = { regexes: 0, wildcards: 0 };
  const fields: Field[] = [];
  const names = new Set<string>();
  const referenced: Token[] = [];
  for (const group of splitFields(tokens)) {
    const first = group[0];
    if (!first) {
      fields.push({ kind: 'field' });
      continue;
    }
    if (group.length === 1 && first.kind === 'word' && first.text === '...') {
      fields.push({ kind: 'ellipsis' });
      continue;
    }
    if (first.kind !== 'word' || !FIELD_NAME.test(first.text)) {
      throw new FilterPatternError(`Expected a field name but found '${first.text}' at position ${lead + 2 + first.at}`);
    }
    if (names.has(first.text)) throw new FilterPatternError(`Duplicate field name '${first.text}' at position ${lead + 2 + first.at}`);
    names.add(first.text);
    if (group.length === 1) {
      fields.push({ kind: 'field', name: first.text });
      continue;
    }
    const parser = new ExprParser<FieldEnv>(group, lead + 1, (p) => delimitedCondition(p, budget, referenced));
    const condition = parser.or();
    const rest = parser.peek();
    if (rest) parser.fail(`Unexpected '${rest.text}'`, rest);
    fields.push({ kind: 'field', name: first.text, condition });
  }
  for (const ref of referenced) {
    if (!names.has(ref.text)) throw new FilterPatternError(`Unknown field '${ref.text}' at position ${lead + 2 + ref.at}`);
  }
  const ellipses = fields.filter((f) => f.kind === 'ellipsis').length;
  const fixed = fields.length - ellipses;
  const conditions = fields.flatMap((f) => (f.kind === 'field' && f.condition ? [f.condition] : []));

  const match = (line: LogLine): ExtractedValues | undefined => {
    const parts = splitDelimited(line.text);
    if (parts.length < fixed) return undefined;
    // Which field each part goes to: fields before the first `...` from the start, after the
    // last from the end; with no `...`, the last field takes the rest of the line.
    const assigned: { key: string; value: string }[] = [];
    const byName = new Map<string, string>();
    const put = (field: Field | undefined, index: number, value: string): void => {
      const name = field?.kind === 'field' ? field.name : undefined;
      assigned.push({ key: name !== undefined ? `$${name}` : `$${index + 1}`, value });
      if (name !== undefined) byName.set(name, value);
    };
    if (ellipses === 0) {
      for (let k = 0; k < fields.length; k++) {
        const part = parts[k];
        if (!part) return undefined;
        const last = k === fields.length - 1 && parts.length > fields.length;
        put(fields[k], k, last ? line.text.slice(part.start).trimEnd() : part.value);
      }
    } else {
      const firstEllipsis = fields.findIndex((f) => f.kind === 'ellipsis');
      let lastEllipsis = -1;
      fields.forEach((f, idx) => {
        if (f.kind === 'ellipsis') lastEllipsis = idx;
      });
      const tail = fields.length - 1 - lastEllipsis;
      // Fields between ellipses are placed as early as they fit.
      let k = 0;
      for (let f = 0; f < firstEllipsis; f++, k++) put(fields[f], k, parts[k]?.value ?? '');
      for (let f = firstEllipsis + 1; f < lastEllipsis; f++) {
        const field = fields[f];
        if (field?.kind === 'ellipsis') continue;
        put(field, k, parts[k]?.value ?? '');
        k++;
      }
      const tailStart = parts.length - tail;
      for (; k < tailStart; k++) put(undefined, k, parts[k]?.value ?? '');
      for (let f = lastEllipsis + 1, idx = tailStart; f < fields.length; f++, idx++) put(fields[f], idx, parts[idx]?.value ?? '');
    }
    const env: FieldEnv = { get: (name) => byName.get(name) };
    for (const c of conditions) if (!c(env)) return undefined;
    const out: ExtractedValues = {};
    for (const a of assigned) out[a.key] = a.value;
    return out;
  };
  return {
    text,
    kind: 'delimited',
    fieldNames: [...names],
    test: (line) => match(line) !== undefined,
    match,
  };
}

// ------------------------------------------------------------------ metric values and dimensions

/** A metric value or dimension taken from a matched event. */
export type ValueSelector = (line: LogLine, extracted: ExtractedValues) => string | number | boolean | undefined;

/**
 * Compiles a metric filter's field reference: `$.path` (a JSON pattern's property) or
 * `$name` (a space-delimited pattern's field). Throws {@link FilterPatternError} for
 * anything else.
 *
 * @example
 * compileValueSelector('$.latency')(new LogLine('{"latency":12}'), {}) // 12
 */
export function compileValueSelector(text: string): ValueSelector {
  if (text.startsWith('$.') || text.startsWith('$[')) {
    const resolve = compileResolver(parseSelector(text));
    return (line) => {
      const json = line.json();
      if (json === undefined) return undefined;
      const r = resolve.get(json);
      if (r === MISSING) return undefined;
      const v = Array.isArray(r) && resolve.multi ? (r[0] as unknown) : r;
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    };
  }
  if (/^\$[A-Za-z0-9_]+$/.test(text)) return (_line, extracted) => extracted[text];
  throw new FilterPatternError(`'${text}' is not a field reference ($.property or $field)`);
}
