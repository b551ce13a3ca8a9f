/**
 * The tokens of JSON (`{ ... }`) and space-delimited (`[ ... ]`) filter patterns: property
 * selectors, operators, `&&` `||` and parentheses, quoted strings, `%regex%` and bare
 * values such as `kms.amazonaws.com`, `123.123.*` or `4*`. Positions are kept so syntax
 * errors can say where they are.
 */
import { FilterPatternError } from './errors.js';

/** One token, with its offset in the text it was read from. */
export type Token =
  | { kind: 'punct'; text: '(' | ')' | ',' | '&&' | '||'; at: number }
  | { kind: 'op'; text: '=' | '!=' | '<' | '<=' | '>' | '>='; at: number }
  | { kind: 'selector'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'regex'; text: string; at: number }
  | { kind: 'word'; text: string; at: number };

// Characters that end a bare word: whitespace and the grammar's own punctuation.
const WORD_END = new Set([' ', '\t', '\n', '\r', '(', ')', ',', '&', '|', '=', '!', '<', '>', '"', '%', ']', '}', '[', '{']);

/** Splits the inside of a `{ }` or `[ ]` pattern into tokens. `offset` is where it starts in the whole pattern. */
export function tokenize(body: string, offset: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (message: string, at: number): never => {
    throw new FilterPatternError(`${message} at position ${offset + at + 1}`);
  };
  while (i < body.length) {
    const ch = body[i] ?? '';
    const at = i;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const two = body.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      tokens.push({ kind: 'punct', text: two, at });
      i += 2;
    } else if (two === '!=' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', text: two, at });
      i += 2;
    } else if (ch === '=' || ch === '<' || ch === '>') {
      // `==` is no operator of the grammar; refusing it beats reading `= "=..."`.
      if (ch === '=' && body[i + 1] === '=') fail("Unexpected '=='", at);
      tokens.push({ kind: 'op', text: ch, at });
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', text: ch, at });
      i++;
    } else if (ch === '"') {
      let text = '';
      i++;
      for (;;) {
        const c = body[i];
        if (c === undefined) fail('Unterminated quoted string', at);
        if (c === '\\' && (body[i + 1] === '"' || body[i + 1] === '\\')) {
          text += body[i + 1] ?? '';
          i += 2;
          continue;
        }
        i++;
        if (c === '"') break;
        text += c;
      }
      tokens.push({ kind: 'string', text, at });
    } else if (ch === '%') {
      const end = body.indexOf('%', i + 1);
      if (end < 0) fail("Unterminated regular expression (no closing '%')", at);
      tokens.push({ kind: 'regex', text: body.slice(i + 1, end), at });
      i = end + 1;
    } else if (ch === '$') {
      const end = selectorEnd(body, i, fail);
      tokens.push({ kind: 'selector', text: body.slice(i, end), at });
      i = end;
    } else if (ch === '&' || ch === '|' || ch === '!') {
      fail(`Unexpected '${ch}'`, at);
    } else if (ch === '[' || ch === ']' || ch === '{' || ch === '}') {
      fail(`Unexpected '${ch}'`, at);
    } else {
      let end = i;
      while (end < body.length && !WORD_END.has(body[end] ?? '')) end++;
      tokens.push({ kind: 'word', text: body.slice(i, end), at });
      i = end;
    }
  }
  return tokens;
}

/** Where a `$...` selector ends: after its `.name`, `.*`, `[N]`, `[*]` and `['key']` steps. */
function selectorEnd(body: string, start: number, fail: (message: string, at: number) => never): number {
  let i = start + 1;
  for (;;) {
    const ch = body[i];
    if (ch === '.') {
      i++;
      if (body[i] === '[') continue;
      if (body[i] === '*') {
        i++;
        continue;
      }
      const from = i;
      while (i < body.length && /[A-Za-z0-9_\-@:]/.test(body[i] ?? '')) i++;
      if (i === from) fail('Expected a property name after \'.\'', i);
    } else if (ch === '[') {
      const quote = body[i + 1];
      if (quote === "'" || quote === '"') {
        const close = body.indexOf(`${quote}]`, i + 2);
        if (close < 0) fail('Unterminated bracketed property name', i);
        i = close + 2;
      } else {
        const close = body.indexOf(']', i);
        if (close < 0) fail("Unclosed '['", i);
        i = close + 1;
      }
    } else {
      return i;
    }
  }
}
