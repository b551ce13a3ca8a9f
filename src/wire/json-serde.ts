/**
 * Model-driven JSON (de)serialization shared by the AWS JSON 1.0/1.1 and REST-JSON
 * codecs: safe body parsing (UTF-8, depth limit) and conversion between JSON values and
 * the typed input/output values services see.
 */
import { errors } from '../platform/errors.js';
import type { AwsError } from '../platform/errors.js';
import { shapeOf } from './model.js';
import type { ServiceModel, ShapeRef, StructureShape } from './model.js';
import {
  decodeBase64,
  decodeUtf8,
  formatEpochSeconds,
  formatHttpDate,
  formatIso,
  isRecord,
  outputBytes,
  outputDate,
  outputNumber,
  parseIso,
  parseTimestampText,
  setOwn,
} from './values.js';

/** Deeper bodies are refused before parsing, so nothing recurses without bound. */
export const MAX_JSON_DEPTH = 64;

/** Thrown for any body the JSON protocols cannot read. */
function bad(message: string): AwsError {
  return errors.serialization(message);
}

/**
 * Parses a JSON request body into an object. An empty body is `{}`; invalid UTF-8,
 * malformed JSON, nesting deeper than {@link MAX_JSON_DEPTH} and non-objects throw
 * SerializationException.
 */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const text = decodeUtf8(body);
  if (text === undefined) throw bad('Request body is not valid UTF-8.');
  if (text.trim() === '') return {};
  checkDepth(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('Request body is not valid JSON.');
  }
  if (!isRecord(parsed)) throw bad('Start of structure or map found where not expected.');
  return parsed;
}

/** Scans brackets outside strings: O(n), no recursion, stops at the first level too deep. */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw bad(`Request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** The JSON key of a structure member: its locationName, else its name. */
export function jsonKey(name: string, ref: ShapeRef): string {
  return ref.locationName ?? name;
}

/**
 * Reads a structure's members from a JSON object. `skip` names members that travel
 * elsewhere (REST labels, headers, query), so the body never overrides them.
 */
export function readJsonStructure(
  model: ServiceModel,
  shape: StructureShape,
  value: Record<string, unknown>,
  path: string,
  skip?: (ref: ShapeRef) => boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members)) {
    if (skip?.(ref)) continue;
    const key = jsonKey(name, ref);
    if (!Object.hasOwn(value, key)) continue;
    const raw = value[key];
    if (raw === null || raw === undefined) continue;
    out[name] = readJsonValue(model, ref, raw, path ? `${path}.${name}` : name);
  }
  return out;
}

/** Converts one JSON value to its typed form, or throws SerializationException. */
export function readJsonValue(model: ServiceModel, ref: ShapeRef, value: unknown, path: string): unknown {
  const shape = shapeOf(model, ref);
  const wrong = (expected: string) => bad(`Expected ${expected} for '${path}'.`);
  switch (shape.type) {
    case 'structure': {
      if (shape.document) return value;
      if (!isRecord(value)) throw wrong('an object');
      return readJsonStructure(model, shape, value, path);
    }
    case 'list': {
      if (!Array.isArray(value)) throw wrong('a list');
      const out: unknown[] = [];
      value.forEach((item, i) => {
        if (item !== null) out.push(readJsonValue(model, shape.member, item, `${path}.${i + 1}`));
      });
      return out;
    }
    case 'map': {
      if (!isRecord(value)) throw wrong('a map');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v !== null) setOwn(out, k, readJsonValue(model, shape.value, v, `${path}.${k}`));
      }
      return out;
    }
    case 'string':
      if (typeof value !== 'string') throw wrong('a string');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('a boolean');
      return value;
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrong('an integer');
      if (shape.type === 'integer' && (value < -2147483648 || value > 2147483647)) throw wrong('a 32-bit integer');
      if (!Number.isSafeInteger(value)) throw wrong('a 64-bit integer');
      return value;
    }
    case 'double':
    case 'float': {
      if (typeof value === 'number') return value;
      if (value === 'NaN') return NaN;
      if (value === 'Infinity') return Infinity;
      if (value === '-Infinity') return -Infinity;
      throw wrong('a number');
    }
    case 'timestamp': {
      const format = ref.timestampFormat ?? shape.timestampFormat;
      if (typeof value === 'number' && Number.isFinite(value)) return new Date(Math.round(value * 1000));
      if (typeof value === 'string' && format !== undefined && format !== 'unixTimestamp') {
        const date = format === 'iso8601' ? parseIso(value) : parseTimestampText(value, format);
        if (date) return date;
      }
      throw wrong('a timestamp');
    }
    case 'blob': {
      if (typeof value !== 'string') throw wrong('a base64 string');
      const bytes = decodeBase64(value);
      if (!bytes) throw wrong('a base64 string');
      return bytes;
    }
  }
}

/**
 * Writes a structure's members (skipping those placed elsewhere) as a JSON object.
 * Members absent from the model, undefined or null are left out.
 */
export function writeJsonStructure(
  model: ServiceModel,
  shape: StructureShape,
  value: Record<string, unknown>,
  skip?: (ref: ShapeRef) => boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members)) {
    if (skip?.(ref)) continue;
    const v = value[name];
    if (v === undefined || v === null) continue;
    const written = writeJsonValue(model, ref, v);
    if (written !== undefined) setOwn(out, jsonKey(name, ref), written);
  }
  return out;
}

/** Converts one typed value to JSON; undefined when it cannot be represented. */
export function writeJsonValue(model: ServiceModel, ref: ShapeRef, value: unknown): unknown {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case 'structure':
      return isRecord(value) ? writeJsonStructure(model, shape, value) : undefined;
    case 'list':
      return Array.isArray(value)
        ? value.map((v) => (v === null || v === undefined ? null : (writeJsonValue(model, shape.member, v) ?? null)))
        : undefined;
    case 'map': {
      const entries = value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : isRecord(value) ? Object.entries(value) : undefined;
      if (!entries) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        if (v === undefined) continue;
        setOwn(out, String(k), v === null ? null : writeJsonValue(model, shape.value, v));
      }
      return out;
    }
    case 'string':
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const n = outputNumber(value);
      if (n === undefined) return undefined;
      if (Number.isNaN(n)) return 'NaN';
      if (n === Infinity) return 'Infinity';
      if (n === -Infinity) return '-Infinity';
      return n;
    }
    case 'timestamp': {
      const date = outputDate(value);
      if (!date) return undefined;
      const format = ref.timestampFormat ?? shape.timestampFormat;
      if (format === 'iso8601') return formatIso(date);
      if (format === 'rfc822') return formatHttpDate(date);
      return formatEpochSeconds(date);
    }
    case 'blob': {
      const bytes = outputBytes(value);
      return bytes ? bytes.toString('base64') : undefined;
    }
  }
}
