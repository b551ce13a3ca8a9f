/**
 * The Smithy RPC v2 CBOR protocol (CloudWatch, as botocore 1.43+ and the current JS SDK
 * speak it): `POST /service/<targetPrefix>/operation/<Operation>` with header
 * `smithy-protocol: rpc-v2-cbor`, request and response bodies in CBOR (RFC 8949),
 * timestamps as tag 1 epoch seconds, blobs as byte strings, errors as maps with
 * `__type` and `message`.
 *
 * CBOR itself is read and written by @smithy/core's implementation (the JS SDK's own).
 * That decoder trusts its input, so every body is first checked here by
 * {@link checkCborBody}: well-formed, nested at most {@link MAX_CBOR_DEPTH} deep, every
 * declared length within the bytes that remain, only text-string map keys (never
 * `__proto__`), only tag 1, nothing after the one top-level item.
 */
import { cbor, tag, tagSymbol } from '@smithy/core/cbor';
import { AwsError, errors } from '../platform/errors.js';
import { queryErrorCode, isQueryCompatible } from './json-codec.js';
import { inputShapeOf, operationOf, outputShapeOf, shapeOf } from './model.js';
import type { ServiceModel, ShapeRef, StructureShape } from './model.js';
import type { ProtocolCodec, WireRequest, WireResponse } from './types.js';
import { isRecord, outputBytes, outputDate, outputNumber, setOwn } from './values.js';

/** Deeper bodies are refused before decoding, so nothing recurses without bound. */
export const MAX_CBOR_DEPTH = 64;

const CONTENT_TYPE = 'application/cbor';

function bad(message: string): AwsError {
  return errors.serialization(message);
}

// ------------------------------------------------------------------ the structural check

/** `__proto__` as UTF-8: a map key that would set a prototype if assigned naively. */
const PROTO_KEY = Buffer.from('__proto__', 'utf8');

/**
 * Checks that `body` is exactly one well-formed CBOR data item of the subset Smithy RPC v2
 * uses, without building any value. O(n) in the body; throws SerializationException.
 *
 * @example checkCborBody(Buffer.from([0xa0])); // an empty map: fine
 */
export function checkCborBody(body: Uint8Array): void {
  const end = scanItem(body, 0, 0);
  if (end !== body.length) throw bad('Request body has bytes after its CBOR data item.');
}

/** The argument of a head byte at `at`: its value and where the item's content starts. */
function readArgument(b: Uint8Array, at: number): { value: number; next: number; indefinite: boolean } {
  const minor = (b[at] ?? 0) & 0x1f;
  if (minor < 24) return { value: minor, next: at + 1, indefinite: false };
  const need = minor === 24 ? 1 : minor === 25 ? 2 : minor === 26 ? 4 : minor === 27 ? 8 : -1;
  if (minor === 31) return { value: 0, next: at + 1, indefinite: true };
  if (need < 0) throw bad('Request body uses a reserved CBOR additional-information value.');
  if (at + 1 + need > b.length) throw bad('Request body ends inside a CBOR item.');
  let value = 0;
  for (let i = 1; i <= need; i++) value = value * 256 + (b[at + i] ?? 0);
  // Past 2^53 the count cannot be exact, and no body is that long anyway.
  if (!Number.isSafeInteger(value)) value = Number.MAX_SAFE_INTEGER;
  return { value, next: at + 1 + need, indefinite: false };
}

/** Scans one item at `at`; returns the offset after it. */
function scanItem(b: Uint8Array, at: number, depth: number): number {
  if (depth > MAX_CBOR_DEPTH) throw bad(`Request body is nested deeper than ${MAX_CBOR_DEPTH} levels.`);
  if (at >= b.length) throw bad('Request body ends inside a CBOR item.');
  const head = b[at] ?? 0;
  const major = head >> 5;
  const arg = readArgument(b, at);
  switch (major) {
    case 0:
    case 1:
      if (arg.indefinite) throw bad('Request body has an indefinite-length integer.');
      return arg.next;
    case 2:
    case 3:
      return arg.indefinite ? scanChunks(b, arg.next, major) : scanBytes(b, arg.next, arg.value);
    case 4: {
      let pos = arg.next;
      if (arg.indefinite) {
        while (b[pos] !== 0xff) pos = scanItem(b, pos, depth + 1);
        return pos + 1;
      }
      // Every item takes at least one byte: a count beyond the rest of the body is a lie.
      if (arg.value > b.length - pos) throw bad('Request body declares more CBOR list items than it holds.');
      for (let i = 0; i < arg.value; i++) pos = scanItem(b, pos, depth + 1);
      return pos;
    }
    case 5: {
      let pos = arg.next;
      if (arg.indefinite) {
        while (b[pos] !== 0xff) pos = scanItem(b, scanKey(b, pos), depth + 1);
        return pos + 1;
      }
      if (arg.value * 2 > b.length - pos) throw bad('Request body declares more CBOR map entries than it holds.');
      for (let i = 0; i < arg.value; i++) pos = scanItem(b, scanKey(b, pos), depth + 1);
      return pos;
    }
    case 6:
      if (arg.indefinite || arg.value !== 1) throw bad('Request body uses a CBOR tag other than 1 (epoch time).');
      return scanItem(b, arg.next, depth + 1);
    default: {
      const minor = head & 0x1f;
      // false, true, null, undefined and half, single and double floats only.
      if (minor >= 20 && minor <= 23) return at + 1;
      if (minor >= 25 && minor <= 27) return arg.next;
      throw bad('Request body holds an unsupported CBOR simple value.');
    }
  }
}

function scanBytes(b: Uint8Array, at: number, length: number): number {
  if (length > b.length - at) throw bad('Request body declares a CBOR string longer than the body.');
  return at + length;
}

/** An indefinite-length string: definite chunks of the same major type, then a break. */
function scanChunks(b: Uint8Array, at: number, major: number): number {
  let pos = at;
  for (;;) {
    if (pos >= b.length) throw bad('Request body ends inside a CBOR string.');
    if (b[pos] === 0xff) return pos + 1;
    if ((b[pos] ?? 0) >> 5 !== major) throw bad('Request body has a malformed indefinite-length CBOR string.');
    const arg = readArgument(b, pos);
    if (arg.indefinite) throw bad('Request body has a nested indefinite-length CBOR string.');
    pos = scanBytes(b, arg.next, arg.value);
  }
}

/** A map key: a text string, definite, and not `__proto__`. */
function scanKey(b: Uint8Array, at: number): number {
  if (at >= b.length) throw bad('Request body ends inside a CBOR map.');
  if ((b[at] ?? 0) >> 5 !== 3) throw bad('Request body has a CBOR map key that is not a text string.');
  const arg = readArgument(b, at);
  if (arg.indefinite) throw bad('Request body has an indefinite-length CBOR map key.');
  const end = scanBytes(b, arg.next, arg.value);
  if (arg.value === PROTO_KEY.length && Buffer.compare(PROTO_KEY, b.subarray(arg.next, end)) === 0) {
    throw bad('Request body has a forbidden map key.');
  }
  return end;
}

/**
 * Decodes a checked CBOR body into plain values (maps as objects, byte strings as
 * Uint8Array, tag 1 as `{ tag, value }`).
 */
export function decodeCbor(body: Uint8Array): unknown {
  checkCborBody(body);
  try {
    return cbor.deserialize(body) as unknown;
  } catch {
    throw bad('Request body is not valid CBOR.');
  }
}

/** Encodes plain values as CBOR (a Date becomes tag 1 epoch seconds). */
export function encodeCbor(value: unknown): Buffer {
  const bytes = cbor.serialize(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ------------------------------------------------------------------ model-driven values

/** A decoded CBOR tag (the decoder marks them with its symbol, so no map can pass for one). */
function isTag(value: unknown): value is { tag: number | bigint; value: unknown } {
  return typeof value === 'object' && value !== null && tagSymbol in value;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** Reads a structure's members from a decoded CBOR map. */
function readStructure(model: ServiceModel, shape: StructureShape, value: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members)) {
    if (!Object.hasOwn(value, name)) continue;
    const raw = value[name];
    if (raw === null || raw === undefined) continue;
    out[name] = readValue(model, ref, raw, path ? `${path}.${name}` : name);
  }
  return out;
}

function readValue(model: ServiceModel, ref: ShapeRef, value: unknown, path: string): unknown {
  const shape = shapeOf(model, ref);
  const wrong = (expected: string) => bad(`Expected ${expected} for '${path}'.`);
  switch (shape.type) {
    case 'structure':
      if (!isRecord(value) || isTag(value) || value instanceof Uint8Array) throw wrong('a map');
      return readStructure(model, shape, value, path);
    case 'list': {
      if (!Array.isArray(value)) throw wrong('a list');
      const out: unknown[] = [];
      value.forEach((item: unknown, i) => {
        if (item !== null && item !== undefined) out.push(readValue(model, shape.member, item, `${path}.${i + 1}`));
      });
      return out;
    }
    case 'map': {
      if (!isRecord(value) || isTag(value) || value instanceof Uint8Array) throw wrong('a map');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) setOwn(out, k, readValue(model, shape.value, v, `${path}.${k}`));
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
      const n = numberOf(value);
      if (n === undefined || !Number.isInteger(n)) throw wrong('an integer');
      if (shape.type === 'integer' && (n < -2147483648 || n > 2147483647)) throw wrong('a 32-bit integer');
      if (!Number.isSafeInteger(n)) throw wrong('a 64-bit integer');
      return n;
    }
    case 'double':
    case 'float': {
      const n = numberOf(value);
      if (n === undefined) throw wrong('a number');
      return n;
    }
    case 'timestamp': {
      // Tag 1 is what clients send; a bare number of seconds is accepted too.
      const seconds = numberOf(isTag(value) ? value.value : value);
      if (seconds === undefined || !Number.isFinite(seconds)) throw wrong('a timestamp');
      const date = new Date(Math.round(seconds * 1000));
      if (!Number.isFinite(date.getTime())) throw wrong('a timestamp');
      return date;
    }
    case 'blob':
      if (!(value instanceof Uint8Array)) throw wrong('a byte string');
      // A copy: the decoder's byte strings are views on the request body.
      return Buffer.from(value);
  }
}

function writeStructure(model: ServiceModel, shape: StructureShape, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members)) {
    const v = value[name];
    if (v === undefined || v === null) continue;
    const written = writeValue(model, ref, v);
    if (written !== undefined) setOwn(out, name, written);
  }
  return out;
}

function writeValue(model: ServiceModel, ref: ShapeRef, value: unknown): unknown {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case 'structure':
      return isRecord(value) ? writeStructure(model, shape, value) : undefined;
    case 'list':
      return Array.isArray(value) ? value.filter((v) => v !== null && v !== undefined).map((v: unknown) => writeValue(model, shape.member, v) ?? null) : undefined;
    case 'map': {
      const entries = value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : isRecord(value) ? Object.entries(value) : undefined;
      if (!entries) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        if (v === undefined || v === null) continue;
        const written = writeValue(model, shape.value, v);
        if (written !== undefined) setOwn(out, String(k), written);
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
    case 'float':
      return outputNumber(value);
    case 'timestamp': {
      const date = outputDate(value);
      return date ? tag({ tag: 1, value: date.getTime() / 1000 }) : undefined;
    }
    case 'blob': {
      const bytes = outputBytes(value);
      return bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
    }
  }
}

// ------------------------------------------------------------------ the codec

/** The codec for one service spoken in Smithy RPC v2 CBOR. */
export class CborCodec implements ProtocolCodec {
  private readonly queryCompatible: boolean;
  private readonly servicePrefix: string;

  constructor(private readonly model: ServiceModel) {
    this.queryCompatible = isQueryCompatible(model);
    this.servicePrefix = model.metadata.targetPrefix ?? '';
  }

  operation(req: WireRequest): string {
    const m = /^\/service\/([^/]+)\/operation\/([^/]+)$/.exec(req.rawPath);
    const service = m?.[1] ?? '';
    const name = m?.[2] ?? '';
    // The full target prefix, or its last dot-separated segment, names the service.
    const knownService = service === this.servicePrefix || this.servicePrefix.endsWith(`.${service}`);
    if (req.method !== 'POST' || !knownService || !operationOf(this.model, name)) throw errors.unknownOperation();
    return name;
  }

  decodeInput(operation: string, req: WireRequest): Record<string, unknown> {
    const op = operationOf(this.model, operation);
    if (!op) throw errors.unknownOperation();
    if (req.body.length === 0) return {};
    const value = decodeCbor(req.body);
    if (!isRecord(value) || isTag(value) || value instanceof Uint8Array) throw bad('Request body must be a CBOR map.');
    return readStructure(this.model, inputShapeOf(this.model, op), value, '');
  }

  encodeOutput(operation: string, output: Record<string, unknown>, requestId: string): WireResponse {
    const op = operationOf(this.model, operation);
    if (!op) throw new Error(`Unknown operation ${operation}`);
    const body = writeStructure(this.model, outputShapeOf(this.model, op), output);
    return {
      status: op.http.responseCode ?? 200,
      headers: { 'content-type': CONTENT_TYPE, 'smithy-protocol': 'rpc-v2-cbor', 'x-amzn-RequestId': requestId },
      body: encodeCbor(body),
    };
  }

  encodeError(error: AwsError, requestId: string): WireResponse {
    const headers: Record<string, string> = {
      ...error.headers,
      'content-type': CONTENT_TYPE,
      'smithy-protocol': 'rpc-v2-cbor',
      'x-amzn-RequestId': requestId,
    };
    if (this.queryCompatible) headers['x-amzn-query-error'] = `${queryErrorCode(this.model, error.code)};${error.fault}`;
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(error.extra)) setOwn(body, k, v);
    body.__type = error.code;
    if (error.message !== '') body.message = error.message;
    return { status: error.status, headers, body: encodeCbor(body) };
  }
}
