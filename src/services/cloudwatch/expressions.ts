/**
 * GetMetricData's metric math, the subset Cairn evaluates: arithmetic (`+ - * /`, unary
 * minus, parentheses) over numbers and the ids of other queries. Two series combine at
 * the timestamps both have; a number applies to every value. Functions (SUM, METRICS,
 * FILL, ...) and SEARCH are refused with a message naming the first one.
 */

/** A query's result: timestamps (ms) and values, index-aligned. */
export interface ExpressionSeries {
  timestamps: number[];
  values: number[];
}

type Operand = number | ExpressionSeries;

const MAX_LENGTH = 1024;
const MAX_DEPTH = 32;

/**
 * Evaluates `expression` against the series computed so far.
 *
 * @example evaluateExpression('errors / requests * 100', results)
 */
export function evaluateExpression(expression: string, series: ReadonlyMap<string, ExpressionSeries>): ExpressionSeries {
  if (expression.length > MAX_LENGTH) throw new Error('the expression is too long');
  const tokens = expression.match(/\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|[-+*/()]|\S)/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos]?.trim();
  const next = () => tokens[pos++]?.trim();

  const primary = (depth: number): Operand => {
    if (depth > MAX_DEPTH) throw new Error('the expression is nested too deeply');
    const t = next();
    if (t === undefined) throw new Error('the expression ends unexpectedly');
    if (t === '(') {
      const v = sum(depth + 1);
      if (next() !== ')') throw new Error('a parenthesis is not closed');
      return v;
    }
    if (t === '-') return combine(-1, primary(depth + 1), '*');
    if (/^\d/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) {
      if (peek() === '(') throw new Error(`the function ${t} is not supported`);
      const s = series.get(t);
      if (!s) throw new Error(`the id ${t} does not name an earlier query`);
      return s;
    }
    throw new Error(`unexpected '${t}'`);
  };
  const product = (depth: number): Operand => {
    let left = primary(depth);
    while (peek() === '*' || peek() === '/') {
      const op = next() as '*' | '/';
      left = combine(left, primary(depth), op);
    }
    return left;
  };
  const sum = (depth: number): Operand => {
    let left = product(depth);
    while (peek() === '+' || peek() === '-') {
      const op = next() as '+' | '-';
      left = combine(left, product(depth), op);
    }
    return left;
  };
  const result = sum(0);
  if (pos !== tokens.length) throw new Error(`unexpected '${peek() ?? ''}'`);
  if (typeof result === 'number') throw new Error('the expression must use at least one metric');
  return result;
}

function apply(a: number, b: number, op: '+' | '-' | '*' | '/'): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

function combine(a: Operand, b: Operand, op: '+' | '-' | '*' | '/'): Operand {
  if (typeof a === 'number' && typeof b === 'number') return apply(a, b, op);
  if (typeof a === 'number' && typeof b !== 'number') return { timestamps: [...b.timestamps], values: b.values.map((v) => apply(a, v, op)) };
  if (typeof a !== 'number' && typeof b === 'number') return { timestamps: [...a.timestamps], values: a.values.map((v) => apply(v, b, op)) };
  const left = a as ExpressionSeries;
  const right = new Map((b as ExpressionSeries).timestamps.map((t, i) => [t, (b as ExpressionSeries).values[i] ?? 0]));
  const out: ExpressionSeries = { timestamps: [], values: [] };
  left.timestamps.forEach((t, i) => {
    const r = right.get(t);
    if (r === undefined) return;
    const v = apply(left.values[i] ?? 0, r, op);
    // Division by zero leaves no datapoint, as metric math drops it.
    if (!Number.isFinite(v)) return;
    out.timestamps.push(t);
    out.values.push(v);
  });
  return out;
}
