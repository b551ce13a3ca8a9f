/**
 * Reshapes an operation's input or output into a CloudTrail record's `requestParameters`
 * / `responseElements`: member names in lowerCamelCase (`S3BucketName` → `s3BucketName`,
 * `SAMLProviderArn` → `sAMLProviderArn`: CloudTrail lower-cases only the first letter),
 * dates as the service's records print them, bytes left out, secrets removed.
 */
import type { ServiceModel, ShapeRef } from './model.js';
import { formatIso, isRecord, setOwn } from './values.js';

/** Member names whose values never appear in a record. */
export const DEFAULT_REDACT: readonly string[] = [
  'SecretAccessKey',
  'Password',
  'NewPassword',
  'OldPassword',
  'PrivateKey',
  'CertificateChain',
  'SAMLAssertion',
  'WebIdentityToken',
  'Plaintext',
];

/**
 * How dates are printed: `iso` (`2026-11-21T22:00:00Z`, most services) or `java`
 * (`Nov 21, 2026, 10:00:00 PM`, which IAM and STS records use for dates in
 * `responseElements`, e.g. a user's `createDate` or credentials' `expiration`).
 */
export type RecordDateStyle = 'iso' | 'java';

export interface RecordShapeOptions {
  /** Member names (as in the model, or already camelCased) removed with their values. */
  redact?: readonly string[];
  dateStyle?: RecordDateStyle;
  /**
   * The model and the shape `value` follows. With them, map keys (tags, attributes)
   * are kept as sent and only member names are camelCased; without them every key is.
   */
  model?: ServiceModel;
  shape?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 21, 2026, 10:00:00 PM` in UTC. */
export function formatJavaDate(date: Date): string {
  const h = date.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = MONTHS[date.getUTCMonth()] ?? '';
  return `${month} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * Converts an input/output object to the form CloudTrail records it in.
 *
 * @example
 * toRecordShape({ Name: 't', S3BucketName: 'b' }) // { name: 't', s3BucketName: 'b' }
 */
export function toRecordShape(value: unknown, options: RecordShapeOptions = {}): unknown {
  const redact = new Set<string>();
  for (const name of options.redact ?? DEFAULT_REDACT) {
    redact.add(name);
    redact.add(camel(name));
  }
  const style = options.dateStyle ?? 'iso';
  const ref = options.model && options.shape ? { shape: options.shape } : undefined;
  return convert(value, redact, style, options.model, ref);
}

function convert(
  value: unknown,
  redact: Set<string>,
  style: RecordDateStyle,
  model: ServiceModel | undefined,
  ref: ShapeRef | undefined,
): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return style === 'java' ? formatJavaDate(value) : formatIso(value);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return undefined;
  const shape = model && ref ? model.shapes[ref.shape] : undefined;
  if (Array.isArray(value)) {
    const itemRef = shape?.type === 'list' ? shape.member : undefined;
    return value.map((v) => convert(v, redact, style, model, itemRef)).filter((v) => v !== undefined);
  }
  if (value instanceof Map) return convert(Object.fromEntries(value), redact, style, model, ref);
  if (!isRecord(value)) return typeof value === 'bigint' ? Number(value) : value;

  const out: Record<string, unknown> = {};
  if (shape?.type === 'map') {
    for (const [k, v] of Object.entries(value)) {
      const converted = convert(v, redact, style, model, shape.value);
      if (converted !== undefined) setOwn(out, k, converted);
    }
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (redact.has(k)) continue;
    const memberRef = shape?.type === 'structure' ? shape.members[k] : undefined;
    const converted = convert(v, redact, style, model, memberRef);
    if (converted !== undefined) setOwn(out, camel(k), converted);
  }
  return out;
}
