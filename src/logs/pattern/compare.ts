/**
 * One condition's right-hand side and how a value compares with it, shared by JSON
 * patterns (the value is a JSON node) and space-delimited ones (the value is a field's
 * text): numbers (`400`, `+1000`, `-3.5`, `1e+3`) compare numerically, strings by text
 * with `*` wildcards at either end, `%regex%` by a match anywhere in the text.
 */
import { FilterPatternError } from './errors.js';
import { compileRegex } from './regex.js';
import type { Token } from './lexer.js';

/** The comparison operators of JSON and space-delimited patterns. */
export type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** AWS's number syntax: an optional sign, an integer or decimal, an optional exponent. */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A compiled test of one value against the condition. */
export type ValueTest = (value: unknown) => boolean;

/** Whether text is a number in AWS's syntax. */
export function isNumberText(text: string): boolean {
  return NUMBER.test(text);
}

/**
 * A string condition's matcher: `*` at the start or end matches any text there (AWS
 * documents `*Event`, `Event*`, `*html*`); a `*` in the middle is taken literally.
 */
function globMatcher(pattern: string): (text: string) => boolean {
  let body = pattern;
  let prefix = false;
  let suffix = false;
  while (body.startsWith('*')) {
    body = body.slice(1);
    prefix = true;
  }
  while (body.endsWith('*')) {
    body = body.slice(0, -1);
    suffix = true;
  }
  if (body === '' && (prefix || suffix)) return () => true;
  if (prefix && suffix) return (text) => text.includes(body);
  if (prefix) return (text) => text.endsWith(body);
  if (suffix) return (text) => text.startsWith(body);
  return (text) => text === body;
}

/** The text of a JSON value node, or undefined for objects, arrays, null and absent values. */
function nodeText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    default:
      return undefined;
  }
}

function nodeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMBER.test(value)) return Number(value);
  return undefined;
}

function numericTest(op: Operator, bound: number, raw: string): ValueTest {
  const cmp = (n: number): boolean => {
    switch (op) {
      case '=':
        return n === bound;
      case '!=':
        return n !== bound;
      case '<':
        return n < bound;
      case '<=':
        return n <= bound;
      case '>':
        return n > bound;
      case '>=':
        return n >= bound;
    }
  };
  return (value) => {
    if (typeof value === 'number') return cmp(value);
    if (typeof value !== 'string') return false;
    // A string field equals the number when its text is the literal or the same number.
    if (op === '=' && value === raw) return true;
    if (op === '!=' && value === raw) return false;
    const n = nodeNumber(value);
    if (n !== undefined) return cmp(n);
    return op === '!=';
  };
}

/**
 * Compiles `op value` into a test. Relational operators need a number; `=` and `!=`
 * take numbers, strings (quoted or bare) and regular expressions. A value that is absent,
 * an object, an array or null satisfies neither `=` nor `!=` (as AWS documents for
 * selectors that point at arrays), which is what `NOT EXISTS` and `IS NULL` are for.
 */
export function compileComparison(op: Operator, token: Token, position: number): ValueTest {
  const fail = (message: string): never => {
    throw new FilterPatternError(`${message} at position ${position}`);
  };
  if (token.kind === 'regex') {
    if (op !== '=' && op !== '!=') fail(`Operator ${op} cannot compare with a regular expression`);
    const regex = compileRegex(token.text);
    return (value) => {
      const text = nodeText(value);
      if (text === undefined) return false;
      return regex.test(text) === (op === '=');
    };
  }
  if (token.kind !== 'string' && token.kind !== 'word') return fail(`Expected a value after ${op}`);
  if (token.kind === 'word' && NUMBER.test(token.text)) return numericTest(op, Number(token.text), token.text);
  if (op !== '=' && op !== '!=') return fail(`Operator ${op} needs a number, not '${token.text}'`);
  if (token.kind === 'word' && token.text.length === 0) return fail(`Expected a value after ${op}`);
  const matches = globMatcher(token.text);
  const equal = op === '=';
  return (value) => {
    const text = nodeText(value);
    if (text === undefined) return false;
    return matches(text) === equal;
  };
}
