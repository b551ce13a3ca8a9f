/**
 * Wildcard patterns as IAM policies use them (`*` any run, `?` one character) with
 * policy variables (`${aws:username}`, `${aws:username, 'default'}`, `${*}`, `${?}`, `${$}`).
 * A pattern is parsed once into parts; variables are resolved per request into a {@link Glob}.
 * Hand-written matcher instead of RegExp: no escaping pitfalls, and substituted variable
 * values stay literal even when they contain `*`.
 */

/** One piece of a parsed pattern. */
export type Part =
  | { readonly t: 'lit'; readonly v: string }
  | { readonly t: 'star' }
  | { readonly t: 'q' }
  | { readonly t: 'var'; readonly key: string; readonly dflt: string | undefined };

/** A resolved pattern: `text` with wildcard marks (1 = `*`, 2 = `?`) at the same offsets; `wild` null means literal. */
export interface Glob {
  readonly text: string;
  readonly wild: Uint8Array | null;
  /** True for a bare `*`, the commonest pattern, so matching it costs nothing. */
  readonly any: boolean;
}

/** A pattern as written in a policy: already a Glob when it holds no variables. */
export interface Pattern {
  readonly parts: readonly Part[];
  readonly glob: Glob | null;
  /** Lower-case the resolved text (case-insensitive comparisons such as actions). */
  readonly lower: boolean;
}

/** Looks up a policy variable's single value (keys lower-cased); undefined when the request has none. */
export type VariableLookup = (key: string) => string | undefined;

interface ParseOptions {
  /** `*` and `?` are wildcards (Resource, StringLike, ArnLike); otherwise literal (StringEquals). */
  wildcards: boolean;
  /** `${...}` is a variable (policy Version 2012-10-17); otherwise literal text. */
  variables: boolean;
  lower?: boolean;
}

const VAR_DEFAULT = /^\s*([^,\s]+)\s*(?:,\s*'([^']*)'\s*)?$/;

/** Parses a policy string into parts. */
export function parsePattern(src: string, opts: ParseOptions): Pattern {
  const lower = opts.lower ?? false;
  const parts: Part[] = [];
  let lit = '';
  const flush = (): void => {
    if (lit) parts.push({ t: 'lit', v: lower ? lit.toLowerCase() : lit });
    lit = '';
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i] ?? '';
    if (opts.variables && c === '$' && src[i + 1] === '{') {
      const end = src.indexOf('}', i + 2);
      if (end > 0) {
        const inner = src.slice(i + 2, end);
        if (inner === '*' || inner === '?' || inner === '$') {
          lit += inner;
          i = end;
          continue;
        }
        const m = VAR_DEFAULT.exec(inner);
        if (m?.[1]) {
          flush();
          parts.push({ t: 'var', key: m[1].toLowerCase(), dflt: m[2] });
          i = end;
          continue;
        }
      }
    }
    if (opts.wildcards && (c === '*' || c === '?')) {
      flush();
      parts.push(c === '*' ? { t: 'star' } : { t: 'q' });
      continue;
    }
    lit += c;
  }
  flush();
  const hasVar = parts.some((p) => p.t === 'var');
  return { parts, lower, glob: hasVar ? null : buildGlob(parts, lower, undefined) };
}

/** Splits parsed parts at literal `:` into at most `max` segments (an ARN has six). */
export function splitParts(parts: readonly Part[], max: number): Part[][] {
  const out: Part[][] = [[]];
  for (const p of parts) {
    let cur = out[out.length - 1] ?? [];
    if (p.t !== 'lit') {
      cur.push(p);
      continue;
    }
    let rest = p.v;
    let idx = rest.indexOf(':');
    while (idx >= 0 && out.length < max) {
      if (idx > 0) cur.push({ t: 'lit', v: rest.slice(0, idx) });
      cur = [];
      out.push(cur);
      rest = rest.slice(idx + 1);
      idx = rest.indexOf(':');
    }
    if (rest) cur.push({ t: 'lit', v: rest });
  }
  return out;
}

/** Builds a Pattern from already-parsed parts. */
export function patternFromParts(parts: readonly Part[], lower: boolean): Pattern {
  const hasVar = parts.some((p) => p.t === 'var');
  return { parts, lower, glob: hasVar ? null : buildGlob(parts, lower, undefined) };
}

/** Resolves variables; null when a variable has no value and no default (the entry then matches nothing). */
export function resolvePattern(p: Pattern, lookup: VariableLookup): Glob | null {
  return p.glob ?? buildGlob(p.parts, p.lower, lookup);
}

function buildGlob(parts: readonly Part[], lower: boolean, lookup: VariableLookup | undefined): Glob | null {
  let text = '';
  let marks: number[] | null = null;
  for (const p of parts) {
    if (p.t === 'lit') {
      text += p.v;
    } else if (p.t === 'var') {
      const v = lookup?.(p.key) ?? p.dflt;
      if (v === undefined) return null;
      text += lower ? v.toLowerCase() : v;
    } else {
      marks ??= [];
      marks.push(text.length, p.t === 'star' ? 1 : 2);
      text += p.t === 'star' ? '*' : '?';
    }
  }
  let wild: Uint8Array | null = null;
  if (marks) {
    wild = new Uint8Array(text.length);
    for (let i = 0; i < marks.length; i += 2) wild[marks[i] ?? 0] = marks[i + 1] ?? 0;
  }
  return { text, wild, any: text === '*' && wild !== null };
}

/** True when `s` matches the glob (case-sensitive; lower-case both sides for insensitive). */
export function globMatch(g: Glob, s: string): boolean {
  const wild = g.wild;
  if (wild === null) return g.text === s;
  if (g.any) return true;
  const p = g.text;
  const n = p.length;
  const m = s.length;
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < m) {
    if (pi < n) {
      const w = wild[pi];
      if (w === 1) {
        starP = pi++;
        starS = si;
        continue;
      }
      if (w === 2 || p.charCodeAt(pi) === s.charCodeAt(si)) {
        pi++;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP + 1;
    si = ++starS;
  }
  while (pi < n && wild[pi] === 1) pi++;
  return pi === n;
}

/** Splits an ARN into its six colon-separated fields (the last keeps its colons); null if not an ARN. */
export function splitArn(arn: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const idx = arn.indexOf(':', start);
    if (idx < 0) return null;
    out.push(arn.slice(start, idx));
    start = idx + 1;
  }
  out.push(arn.slice(start));
  return out[0] === 'arn' ? out : null;
}
