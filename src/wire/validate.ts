/**
 * Checks decoded input against the model's constraints (required, lengths, ranges,
 * patterns) and reports failures the way AWS does:
 * `2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: ...; ...`.
 * Enums are not enforced: AWS services accept unknown values and reject them themselves.
 */
import { AwsError } from '../platform/errors.js';
import { inputShapeOf, operationOf, shapeOf } from './model.js';
import type { ServiceModel, Shape, ShapeRef, StructureShape } from './model.js';
import { isRecord } from './values.js';

/** Compiled model patterns, keyed by source; `null` when the Java regex has no JS equivalent. */
const patterns = new Map<string, RegExp | null>();

/**
 * The model's pattern as a whole-value JS regex (AWS patterns are Java `matches()`
 * patterns); null when it cannot be expressed, in which case the check is skipped.
 */
export function modelPattern(source: string): RegExp | null {
  const cached = patterns.get(source);
  if (cached !== undefined) return cached;
  let re: RegExp | null = null;
  // Java's leading inline flags (`(?s).*`) become JS flags.
  const inline = /^\(\?([ims]+)\)/.exec(source);
  const body = inline ? source.slice(inline[0].length) : source;
  const extra = inline?.[1] ?? '';
  for (const flags of ['u', '']) {
    try {
      re = new RegExp(`^(?:${body})$`, flags + extra);
      break;
    } catch {
      // Try the next flag set; a pattern neither accepts is skipped rather than guessed at.
    }
  }
  patterns.set(source, re);
  return re;
}

/** AWS prints member paths in lowerCamelCase: `S3BucketName` → `s3BucketName`. */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function display(value: unknown, shape: Shape): string {
  if (shape.sensitive) return "'*** Sensitive Data Redacted ***'";
  if (Buffer.isBuffer(value)) return `'java.nio.HeapByteBuffer[pos=0 lim=${value.length} cap=${value.length}]'`;
  if (Array.isArray(value)) return `'[${value.map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '...')).join(', ')}]'`;
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return `'${String(value)}'`;
  return `'{...}'`;
}

function lengthOf(value: unknown, shape: Shape): number | undefined {
  if (shape.type === 'string' && typeof value === 'string') return [...value].length;
  if (shape.type === 'blob' && Buffer.isBuffer(value)) return value.length;
  if (shape.type === 'list' && Array.isArray(value)) return value.length;
  if (shape.type === 'map' && isRecord(value)) return Object.keys(value).length;
  return undefined;
}

function check(model: ServiceModel, ref: ShapeRef, value: unknown, path: string, problems: string[]): void {
  const shape = shapeOf(model, ref);
  const fail = (constraint: string) =>
    problems.push(`Value ${display(value, shape)} at '${path}' failed to satisfy constraint: Member must ${constraint}`);

  const length = lengthOf(value, shape);
  if (length !== undefined && 'min' in shape && shape.min !== undefined && length < shape.min) {
    fail(`have length greater than or equal to ${shape.min}`);
  }
  if (length !== undefined && 'max' in shape && shape.max !== undefined && length > shape.max) {
    fail(`have length less than or equal to ${shape.max}`);
  }
  switch (shape.type) {
    case 'structure':
      if (isRecord(value)) checkStructure(model, shape, value, path, problems);
      break;
    case 'list':
      if (Array.isArray(value)) value.forEach((item, i) => check(model, shape.member, item, `${path}.${i + 1}.member`, problems));
      break;
    case 'map':
      if (isRecord(value)) {
        for (const [k, v] of Object.entries(value)) {
          check(model, shape.key, k, `${path}.${k}.key`, problems);
          if (v !== undefined && v !== null) check(model, shape.value, v, `${path}.${k}.value`, problems);
        }
      }
      break;
    case 'string':
      if (typeof value === 'string' && shape.pattern !== undefined) {
        const re = modelPattern(shape.pattern);
        if (re && !re.test(value)) fail(`satisfy regular expression pattern: ${shape.pattern}`);
      }
      break;
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      if (typeof value === 'number') {
        if (shape.min !== undefined && value < shape.min) fail(`have value greater than or equal to ${shape.min}`);
        if (shape.max !== undefined && value > shape.max) fail(`have value less than or equal to ${shape.max}`);
      }
      break;
    default:
      break;
  }
}

function checkStructure(model: ServiceModel, shape: StructureShape, value: Record<string, unknown>, path: string, problems: string[]): void {
  const required = new Set(shape.required ?? []);
  for (const [name, ref] of Object.entries(shape.members)) {
    const memberPath = path ? `${path}.${lowerFirst(name)}` : lowerFirst(name);
    const v = value[name];
    if (v === undefined || v === null) {
      if (required.has(name)) problems.push(`Value null at '${memberPath}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    check(model, ref, v, memberPath, problems);
  }
}

/**
 * The constraint violations in an operation's input, as AWS words them (empty when valid).
 */
export function validationProblems(model: ServiceModel, operation: string, input: Record<string, unknown>): string[] {
  const op = operationOf(model, operation);
  if (!op) return [];
  const problems: string[] = [];
  checkStructure(model, inputShapeOf(model, op), input, '', problems);
  return problems;
}

/**
 * Throws the protocol's validation error when the input breaks the model's constraints:
 * JSON and REST-JSON services `ValidationException`, query services `ValidationError`.
 * S3 (REST-XML) has its own errors; only a missing required body becomes MalformedXML.
 *
 * @example validateInput(loadModel('iam'), 'CreateUser', { }); // throws ValidationError
 */
export function validateInput(model: ServiceModel, operation: string, input: Record<string, unknown>): void {
  const protocol = model.metadata.protocol;
  if (protocol === 'rest-xml') {
    validateRestXml(model, operation, input);
    return;
  }
  const problems = validationProblems(model, operation, input);
  if (problems.length === 0) return;
  const message =
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ` + problems.join('; ');
  throw new AwsError({ code: protocol === 'query' ? 'ValidationError' : 'ValidationException', message });
}

function validateRestXml(model: ServiceModel, operation: string, input: Record<string, unknown>): void {
  const op = operationOf(model, operation);
  if (!op) return;
  const shape = inputShapeOf(model, op);
  const payload = shape.payload;
  if (payload && shape.required?.includes(payload) && (input[payload] === undefined || input[payload] === null)) {
    const ref = shape.members[payload];
    if (ref && shapeOf(model, ref).type === 'structure') {
      throw new AwsError({
        code: 'MalformedXML',
        message: 'The XML you provided was not well-formed or did not validate against our published schema',
      });
    }
  }
}
