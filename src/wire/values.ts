/**
 * Scalar conversions every protocol shares: timestamps in AWS's three wire formats,
 * strict number/boolean/base64 parsing, and safe object building for decoded input.
 */
import type { TimestampFormat } from './model.js';

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * Sets an own property even for keys like `__proto__`, which plain assignment would
 * treat as the prototype: map keys come straight from callers.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A timestamp from an operation's output: a Date, epoch milliseconds (what the injected
 * Clock returns), or an ISO 8601 string. Anything else is undefined.
 */
export function outputDate(value: unknown): Date | undefined {
  let date: Date | undefined;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number') date = new Date(value);
  else if (typeof value === 'string') date = new Date(value);
  return date && Number.isFinite(date.getTime()) ? date : undefined;
}

/** ISO 8601 in UTC, with milliseconds only when there are any (as AWS prints them). */
export function formatIso(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('.000Z') ? iso.slice(0, -5) + 'Z' : iso;
}

/** RFC 7231 IMF-fixdate, e.g. `Sat, 21 Nov 2026 22:00:00 GMT`. */
export function formatHttpDate(date: Date): string {
  return date.toUTCString();
}

/** Epoch seconds, fractional to the millisecond. */
export function formatEpochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** Formats a timestamp for text protocols (XML, headers, query strings). */
export function formatTimestamp(date: Date, format: TimestampFormat): string {
  switch (format) {
    case 'iso8601':
      return formatIso(date);
    case 'rfc822':
      return formatHttpDate(date);
    case 'unixTimestamp':
      return String(formatEpochSeconds(date));
  }
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Parses ISO 8601 date-times (a missing offset means UTC); undefined when malformed. */
export function parseIso(text: string): Date | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const ms = frac ? Number((frac + '00').slice(0, 3)) : 0;
  const fields = [y, mo, d, h, mi, s ?? '0'].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (sign && oh && om) t -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return Number.isFinite(t) ? new Date(t) : undefined;
}

/** Parses a timestamp sent as text in the given format, accepting the other common forms too. */
export function parseTimestampText(text: string, format: TimestampFormat): Date | undefined {
  const trimmed = text.trim();
  if (format === 'unixTimestamp' || /^-?\d+(\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    if (trimmed !== '' && Number.isFinite(n)) return new Date(Math.round(n * 1000));
    if (format === 'unixTimestamp') return undefined;
  }
  const iso = parseIso(trimmed);
  if (iso) return iso;
  // RFC 7231 dates: Date.parse handles IMF-fixdate and the obsolete forms.
  if (/^[A-Za-z]{3},? /.test(trimmed)) {
    const t = Date.parse(trimmed);
    if (Number.isFinite(t)) return new Date(t);
  }
  return undefined;
}

/** An integer from text, or undefined if malformed or outside the shape's range. */
export function parseIntegerText(text: string, type: 'integer' | 'long'): number | undefined {
  if (!/^[+-]?\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) return undefined;
  if (type === 'integer' && (n < -2147483648 || n > 2147483647)) return undefined;
  return n;
}

/** A double from text (`NaN`, `Infinity`, `-Infinity` as AWS spells them), or undefined. */
export function parseFloatText(text: string): number | undefined {
  const t = text.trim();
  if (t === 'NaN') return NaN;
  if (t === 'Infinity') return Infinity;
  if (t === '-Infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** `true`/`false` (any case), or undefined. */
export function parseBooleanText(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return undefined;
}

/** Strict base64 (padding optional); undefined when the text is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  const t = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) return undefined;
  return Buffer.from(t, 'base64');
}

/** Bytes from an output value: Buffer, Uint8Array or string (UTF-8). */
export function outputBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return undefined;
}

/** Decodes UTF-8 strictly; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    return undefined;
  }
}

/** A number for a numeric output member (numbers, bigints and numeric strings). */
export function outputNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

/** Text for a numeric value in text protocols (`NaN`/`Infinity` spelled as AWS does). */
export function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}
