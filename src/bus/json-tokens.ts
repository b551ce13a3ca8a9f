/**
 * A pull tokenizer for JSON text that knows where it is. EventBridge reports a bad event
 * pattern with the position its JSON parser had reached (`at [Source: (String)"..."; line:
 * 1, column: 40]`), so the pattern compiler reads patterns token by token through this
 * rather than through `JSON.parse`, and can name the same place.
 */

/** The kinds of token, named as the pattern compiler thinks of them. */
export type TokenKind =
  | 'START_OBJECT'
  | 'END_OBJECT'
  | 'START_ARRAY'
  | 'END_ARRAY'
  | 'FIELD_NAME'
  | 'VALUE_STRING'
  | 'VALUE_NUMBER_INT'
  | 'VALUE_NUMBER_FLOAT'
  | 'VALUE_TRUE'
  | 'VALUE_FALSE'
  | 'VALUE_NULL'
  | 'END';

/** A problem at the tokenizer's current position; the compiler appends the location. */
export class JsonPositionError extends Error {
  constructor(
    message: string,
    readonly location: string,
  ) {
    super(`${message}\n at ${location}`);
    this.name = 'JsonPositionError';
  }
  /** `reason at [Source: ...; line: L, column: C]`, the way the pattern's parser words it. */
  get reason(): string {
    return this.message.replace('\n at ', ' at ');
  }
}

interface Context {
  type: 'object' | 'array';
  /** Tokens seen in this container (0: nothing yet). */
  count: number;
  /** In an object: the next token is a value (after a field name). */
  expectValue: boolean;
}

const SOURCE_LIMIT = 500;

/**
 * The tokenizer. `next()` returns the next token's kind; `text` holds a field name's or
 * scalar's text (numbers as written); `fail()` throws a {@link JsonPositionError} at the
 * current position (just past the last token read).
 */
export class JsonTokenizer {
  private pos = 0;
  /**
   * Where the parser reports itself to be: like Jackson, a string value counts as read
   * only up to its opening quote until its text is asked for, and a field name counts
   * as read up to the start of its value.
   */
  private reportPos = 0;
  private readonly stack: Context[] = [];
  private started = false;
  private currentText = '';
  /** The current field name in the innermost object. */
  fieldName = '';

  constructor(private readonly source: string) {}

  /** Throws a {@link JsonPositionError} with `message` at the current position. */
  fail(message: string): never {
    throw new JsonPositionError(message, this.location());
  }

  /** The current token's text (field name, string value, number literal, true/false/null). */
  getText(): string {
    this.reportPos = this.pos;
    return this.currentText;
  }

  /** `[Source: (String)"..."; line: L, column: C]` for the current position. */
  location(): string {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < this.reportPos && i < this.source.length; i++) {
      if (this.source.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    const shown =
      this.source.length > SOURCE_LIMIT
        ? `"${this.source.slice(0, SOURCE_LIMIT)}"[truncated ${this.source.length - SOURCE_LIMIT} chars]`
        : `"${this.source}"`;
    return `[Source: (String)${shown}; line: ${line}, column: ${this.reportPos - lineStart + 1}]`;
  }

  /** Reads the next token. */
  next(): TokenKind {
    const kind = this.read();
    if (kind === 'FIELD_NAME') this.reportPos = this.valueStartEnd();
    else if (kind !== 'VALUE_STRING') this.reportPos = this.pos;
    return kind;
  }

  /** Where Jackson stands after a field name: past the colon and the start of the value. */
  private valueStartEnd(): number {
    let i = this.pos;
    const space = (k: number): number => {
      while (k < this.source.length && ' \n\r\t'.includes(this.source.charAt(k))) k++;
      return k;
    };
    i = space(i);
    if (this.source[i] !== ':') return i;
    i = space(i + 1);
    const c = this.source.charAt(i);
    if (c === '"' || c === '{' || c === '[') return i + 1;
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.source.slice(i, i + 400));
    return m ? i + m[0].length : i;
  }

  private read(): TokenKind {
    const ctx = this.stack[this.stack.length - 1];
    this.skipSpace();
    if (!ctx) {
      if (this.started) {
        if (this.pos < this.source.length) this.unexpected('expected EOF');
        return 'END';
      }
      this.started = true;
      if (this.pos >= this.source.length) return 'END';
      return this.value();
    }
    const c = this.source[this.pos];
    if (ctx.type === 'object') {
      if (ctx.expectValue) {
        if (c !== ':') this.unexpected("was expecting a colon to separate field name and value");
        this.pos++;
        this.skipSpace();
        ctx.expectValue = false;
        return this.value();
      }
      if (c === '}') {
        this.pos++;
        this.currentText = '}';
        this.stack.pop();
        return 'END_OBJECT';
      }
      if (ctx.count > 0) {
        if (c !== ',') this.unexpected("was expecting comma to separate Object entries");
        this.pos++;
        this.skipSpace();
      }
      if (this.source[this.pos] !== '"') this.unexpected('was expecting double-quote to start field name');
      this.currentText = this.string();
      this.fieldName = this.currentText;
      ctx.count++;
      ctx.expectValue = true;
      return 'FIELD_NAME';
    }
    if (c === ']') {
      this.pos++;
      this.currentText = ']';
      this.stack.pop();
      return 'END_ARRAY';
    }
    if (ctx.count > 0) {
      if (c !== ',') this.unexpected("was expecting comma to separate Array entries");
      this.pos++;
      this.skipSpace();
    }
    ctx.count++;
    return this.value();
  }

  /** Skips the value that starts with the current token (an object or array entirely). */
  skipChildren(kind: TokenKind): void {
    if (kind !== 'START_OBJECT' && kind !== 'START_ARRAY') return;
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t === 'START_OBJECT' || t === 'START_ARRAY') depth++;
      else if (t === 'END_OBJECT' || t === 'END_ARRAY') depth--;
      else if (t === 'END') this.syntax('Unexpected end-of-input');
    }
  }

  private value(): TokenKind {
    const c = this.source[this.pos];
    if (c === undefined) this.syntax('Unexpected end-of-input');
    if (c === '{') {
      this.pos++;
      this.currentText = '{';
      this.stack.push({ type: 'object', count: 0, expectValue: false });
      return 'START_OBJECT';
    }
    if (c === '[') {
      this.pos++;
      this.currentText = '[';
      this.stack.push({ type: 'array', count: 0, expectValue: false });
      return 'START_ARRAY';
    }
    if (c === '"') {
      const start = this.pos;
      this.currentText = this.string();
      this.reportPos = start + 1;
      return 'VALUE_STRING';
    }
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, kind] of [
      ['true', 'VALUE_TRUE'],
      ['false', 'VALUE_FALSE'],
      ['null', 'VALUE_NULL'],
    ] as const) {
      if (this.source.startsWith(word, this.pos)) {
        this.pos += word.length;
        this.currentText = word;
        return kind;
      }
    }
    this.unexpected('expected a valid value (JSON String, Number, Array, Object or token \'null\', \'true\' or \'false\')');
  }

  private number(): TokenKind {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.source.slice(this.pos, this.pos + 400));
    if (!m) {
      this.pos++;
      this.syntax('Unexpected character in numeric value');
    }
    this.pos += m[0].length;
    this.currentText = m[0];
    return m[2] !== undefined || m[3] !== undefined ? 'VALUE_NUMBER_FLOAT' : 'VALUE_NUMBER_INT';
  }

  private string(): string {
    // Find the closing quote, then let JSON.parse decode the escapes.
    let i = this.pos + 1;
    for (;;) {
      const ch = this.source.charCodeAt(i);
      if (Number.isNaN(ch)) {
        this.pos = i;
        this.syntax('Unexpected end-of-input: was expecting closing quote for a string value');
      }
      if (ch === 0x5c) i += 2;
      else if (ch === 0x22) break;
      else if (ch < 0x20) {
        this.pos = i + 1;
        this.syntax(`Illegal unquoted character ((CTRL-CHAR, code ${ch})): has to be escaped using backslash to be included in string value`);
      } else i++;
    }
    const raw = this.source.slice(this.pos, i + 1);
    this.pos = i + 1;
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.syntax('Unrecognized character escape');
    }
  }

  private skipSpace(): void {
    while (this.pos < this.source.length) {
      const ch = this.source.charCodeAt(this.pos);
      if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) this.pos++;
      else break;
    }
  }

  private unexpected(expectation: string): never {
    this.reportPos = this.pos;
    const c = this.source[this.pos];
    if (c === undefined) this.syntax(`Unexpected end-of-input: ${expectation}`);
    this.pos++;
    this.syntax(`Unexpected character ('${c}' (code ${c.charCodeAt(0)})): ${expectation}`);
  }

  private syntax(message: string): never {
    this.reportPos = this.pos;
    this.fail(message);
  }
}
