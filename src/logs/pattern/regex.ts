/**
 * The regular expressions of CloudWatch Logs filter patterns (`%...%`): the subset AWS
 * documents (literals, `.`, `[]` classes, `\d \D \s \S \w \W \xhh`, `^ $`, `| ? * +
 * {m,n}`, no parentheses), compiled into a position automaton and run as a set of states
 * over the text. Without groups there is nothing to nest, so each alternative is a flat
 * sequence; simulating every state at once costs O(text x pattern) for any input, so no
 * pattern or log line can make evaluation backtrack its way into a hang.
 */
import { FilterPatternError } from './errors.js';

/** The most states a regex may have once `{m,n}` is expanded: evaluation costs text length x states. */
export const MAX_REGEX_STATES = 256;

/** Which characters one position accepts: an ASCII bitmap plus a verdict for the rest. */
interface CharSet {
  ascii: Uint8Array;
  /** What characters above 127 do (negated classes, `.`, `\D`, `\S`, `\W` accept them). */
  other: boolean;
}

type Node =
  | { kind: 'char'; set: CharSet; mode: 'one' | 'opt' | 'star' }
  | { kind: 'bol' }
  | { kind: 'eol' };

/** A compiled regex; `test` says whether it matches anywhere in the text. */
export interface FilterRegex {
  readonly source: string;
  test(text: string): boolean;
}

const SYMBOLS = new Set([':', '_', '#', '=', '@', '/', ';', ',', '-', ' ']);
const OPERATORS = new Set(['^', '$', '?', '[', ']', '{', '}', '|', '\\', '*', '+', '.']);

function emptySet(other = false): CharSet {
  return { ascii: new Uint8Array(128), other };
}

function rangeSet(ranges: [number, number][], negate = false): CharSet {
  const set = emptySet(negate);
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) set.ascii[c] = 1;
  if (negate) for (let c = 0; c < 128; c++) set.ascii[c] = set.ascii[c] ? 0 : 1;
  return set;
}

const DIGIT: [number, number][] = [[48, 57]];
const WORD: [number, number][] = [
  [48, 57],
  [65, 90],
  [97, 122],
  [95, 95],
];
const SPACE: [number, number][] = [
  [9, 13],
  [32, 32],
];

function addInto(target: CharSet, source: CharSet): void {
  for (let c = 0; c < 128; c++) if (source.ascii[c]) target.ascii[c] = 1;
  if (source.other) target.other = true;
}

class RegexParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  private fail(message: string): never {
    throw new FilterPatternError(`${message} in regular expression %${this.src}%`);
  }

  parse(): Node[][] {
    if (this.src.length === 0) this.fail('Empty pattern');
    for (const ch of this.src) {
      if (ch.charCodeAt(0) > 127) this.fail('Multi-byte characters are not supported');
    }
    const alternatives: Node[][] = [this.sequence()];
    while (this.pos < this.src.length && this.src[this.pos] === '|') {
      this.pos++;
      alternatives.push(this.sequence());
    }
    if (this.pos < this.src.length) this.fail(`Unexpected '${this.src[this.pos] ?? ''}'`);
    const states = alternatives.reduce((n, a) => n + a.length + 1, 0);
    if (states > MAX_REGEX_STATES) this.fail('Pattern too complex');
    return alternatives;
  }

  private sequence(): Node[] {
    const nodes: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|') {
      const ch = this.src[this.pos] ?? '';
      if (ch === '^' || ch === '$') {
        this.pos++;
        nodes.push({ kind: ch === '^' ? 'bol' : 'eol' });
        if (this.isQuantifier()) this.fail(`Nothing to repeat before '${this.src[this.pos] ?? ''}'`);
        continue;
      }
      const set = this.atom();
      this.quantify(set, nodes);
      if (nodes.length > MAX_REGEX_STATES) this.fail('Pattern too complex');
    }
    return nodes;
  }

  private isQuantifier(): boolean {
    const ch = this.src[this.pos];
    return ch === '*' || ch === '+' || ch === '?' || ch === '{';
  }

  /** Reads the quantifier after an atom, if any, and appends the atom's expansion. */
  private quantify(set: CharSet, nodes: Node[]): void {
    let min = 1;
    let max: number | undefined = 1;
    const ch = this.src[this.pos];
    if (ch === '*') [min, max] = [0, undefined];
    else if (ch === '+') [min, max] = [1, undefined];
    else if (ch === '?') [min, max] = [0, 1];
    if (ch === '*' || ch === '+' || ch === '?') this.pos++;
    else if (ch === '{') [min, max] = this.braces();
    // A quantifier on a quantifier is the shape that makes backtracking engines explode;
    // AWS's grammar has no use for it either, so it is refused.
    if (this.isQuantifier()) this.fail(`Nested quantifier '${this.src[this.pos] ?? ''}'`);
    for (let i = 0; i < min; i++) nodes.push({ kind: 'char', set, mode: 'one' });
    if (max === undefined) nodes.push({ kind: 'char', set, mode: 'star' });
    else for (let i = min; i < max; i++) nodes.push({ kind: 'char', set, mode: 'opt' });
  }

  private braces(): [number, number | undefined] {
    const close = this.src.indexOf('}', this.pos);
    if (close < 0) this.fail("Unclosed '{'");
    const body = this.src.slice(this.pos + 1, close).replace(/ /g, '');
    const m = /^(\d*)(,?)(\d*)$/.exec(body);
    if (!m || (m[1] === '' && m[3] === '') || (m[2] === '' && m[3] !== '')) this.fail(`Invalid repetition {${body}}`);
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === '' ? min : m[3] === '' ? undefined : Number(m[3]);
    if (max !== undefined && max < min) this.fail(`Invalid repetition {${body}}`);
    if (min > MAX_REGEX_STATES || (max ?? 0) > MAX_REGEX_STATES) this.fail('Pattern too complex');
    this.pos = close + 1;
    return [min, max];
  }

  private atom(): CharSet {
    const ch = this.src[this.pos] ?? '';
    if (ch === '.') {
      this.pos++;
      return { ascii: new Uint8Array(128).fill(1), other: true };
    }
    if (ch === '[') return this.charClass();
    if (ch === '\\') return this.escape(false);
    if (ch === '*' || ch === '+' || ch === '?' || ch === '{') this.fail(`Nothing to repeat before '${ch}'`);
    if (ch === '(' || ch === ')') this.fail("The operators '(' and ')' are not supported");
    if (ch === ']' || ch === '}') this.fail(`Unexpected '${ch}'`);
    if (!/[A-Za-z0-9]/.test(ch) && !SYMBOLS.has(ch)) this.fail(`Unsupported character '${ch}'`);
    this.pos++;
    const set = emptySet();
    set.ascii[ch.charCodeAt(0)] = 1;
    return set;
  }

  /** `\d \D \s \S \w \W \xhh`, or an escaped operator or symbol taken literally. */
  private escape(inClass: boolean): CharSet {
    const next = this.src[this.pos + 1];
    if (next === undefined) this.fail('Trailing backslash');
    this.pos += 2;
    switch (next) {
      case 'd':
        return rangeSet(DIGIT);
      case 'D':
        return rangeSet(DIGIT, true);
      case 's':
        return rangeSet(SPACE);
      case 'S':
        return rangeSet(SPACE, true);
      case 'w':
        return rangeSet(WORD);
      case 'W':
        return rangeSet(WORD, true);
      case 't':
        return rangeSet([[9, 9]]);
      case 'n':
        return rangeSet([[10, 10]]);
      case 'r':
        return rangeSet([[13, 13]]);
      case 'x': {
        const hex = this.src.slice(this.pos, this.pos + 2);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail('\\x needs two hexadecimal digits');
        this.pos += 2;
        const code = parseInt(hex, 16);
        return rangeSet([[code, code]]);
      }
      default: {
        if (/[A-Za-z0-9]/.test(next) && !inClass) this.fail(`Unsupported escape '\\${next}'`);
        const code = next.charCodeAt(0);
        return rangeSet([[code, code]]);
      }
    }
  }

  private charClass(): CharSet {
    this.pos++; // [
    let negate = false;
    if (this.src[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    const set = emptySet();
    let first = true;
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === undefined) this.fail("Unclosed '['");
      if (ch === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      let low: number;
      if (ch === '\\') {
        const escaped = this.escape(true);
        const single = singleChar(escaped);
        if (single === undefined) {
          addInto(set, escaped);
          continue;
        }
        low = single;
      } else {
        if (!/[A-Za-z0-9]/.test(ch) && !SYMBOLS.has(ch) && !OPERATORS.has(ch)) this.fail(`Unsupported character '${ch}'`);
        low = ch.charCodeAt(0);
        this.pos++;
      }
      // `a-z`: a range, unless the dash is the last character before `]`.
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== undefined && this.src[this.pos + 1] !== ']') {
        this.pos++;
        let high: number;
        if (this.src[this.pos] === '\\') {
          const single = singleChar(this.escape(true));
          if (single === undefined) this.fail('Invalid class range');
          high = single;
        } else {
          high = (this.src[this.pos] ?? '').charCodeAt(0);
          this.pos++;
        }
        if (high < low) this.fail('Invalid class range');
        for (let c = low; c <= high && c < 128; c++) set.ascii[c] = 1;
      } else {
        set.ascii[low] = 1;
      }
    }
    if (negate) {
      for (let c = 0; c < 128; c++) set.ascii[c] = set.ascii[c] ? 0 : 1;
      set.other = !set.other;
    }
    return set;
  }
}

function singleChar(set: CharSet): number | undefined {
  if (set.other) return undefined;
  let found: number | undefined;
  for (let c = 0; c < 128; c++) {
    if (!set.ascii[c]) continue;
    if (found !== undefined) return undefined;
    found = c;
  }
  return found;
}

/**
 * Compiles the text between the `%` signs. Throws {@link FilterPatternError} for anything
 * outside AWS's documented subset (parentheses, `!`, multi-byte characters...).
 *
 * @example
 * compileRegex('\\d{1,3}\\.\\d{1,3}').test('from 10.0.0.1') // true
 */
export function compileRegex(source: string): FilterRegex {
  const alternatives = new RegexParser(source).parse();
  // States: alternative k occupies offsets[k] .. offsets[k] + length (the last is its accept).
  const nodes: (Node | undefined)[] = [];
  const starts: number[] = [];
  for (const alt of alternatives) {
    starts.push(nodes.length);
    nodes.push(...alt, undefined);
  }
  const count = nodes.length;
  // One mark per state, stamped with the step that last added it, dedupes each step's list.
  const marks = new Int32Array(count);
  let current = new Int32Array(count);
  let next = new Int32Array(count);
  let stamp = 0;

  /** Adds a state and what follows it without reading (skips, anchors); -1 on reaching an accept. */
  const add = (list: Int32Array, size: number, state: number, at: number, length: number): number => {
    let s = state;
    let n = size;
    for (;;) {
      if (marks[s] === stamp) return n;
      marks[s] = stamp;
      const node = nodes[s];
      if (node === undefined) return -1;
      if (node.kind === 'bol' || node.kind === 'eol') {
        if ((node.kind === 'bol' && at !== 0) || (node.kind === 'eol' && at !== length)) return n;
        s++;
        continue;
      }
      list[n++] = s;
      if (node.mode === 'one') return n;
      s++;
    }
  };

  return {
    source,
    test(text: string): boolean {
      const length = text.length;
      // Stamps only grow; start a fresh range well before they could wrap.
      if (stamp > 0x3fffffff) {
        marks.fill(0);
        stamp = 0;
      }
      stamp++;
      let size = 0;
      for (const start of starts) {
        size = add(current, size, start, 0, length);
        if (size < 0) return true;
      }
      for (let i = 0; i < length; i++) {
        const code = text.charCodeAt(i);
        stamp++;
        let nextSize = 0;
        for (let k = 0; k < size; k++) {
          const s = current[k] ?? 0;
          const node = nodes[s];
          if (node === undefined || node.kind !== 'char') continue;
          if (!(code < 128 ? node.set.ascii[code] === 1 : node.set.other)) continue;
          nextSize = add(next, nextSize, node.mode === 'star' ? s : s + 1, i + 1, length);
          if (nextSize < 0) return true;
        }
        // A match may start at any position.
        for (const start of starts) {
          nextSize = add(next, nextSize, start, i + 1, length);
          if (nextSize < 0) return true;
        }
        [current, next] = [next, current];
        size = nextSize;
      }
      return false;
    },
  };
}
