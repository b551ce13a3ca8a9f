/**
 * The AWS query protocol (IAM, STS, SNS; CloudWatch's older clients): form-encoded
 * `Action=...&Version=...` parameters in, `<OperationResponse>` XML out, errors as
 * `<ErrorResponse>`. Parameter names follow the model: `Name.member.N` for lists
 * (or the flattened/locationName forms), `Name.entry.N.key/value` for maps.
 */
import { AwsError } from '../platform/errors.js';
import { inputShapeOf, operationOf, outputShapeOf, shapeOf } from './model.js';
import type { ServiceModel, ShapeRef, StructureShape } from './model.js';
import type { ProtocolCodec, WireRequest, WireResponse } from './types.js';
import {
  decodeBase64,
  decodeUtf8,
  parseBooleanText,
  parseFloatText,
  parseIntegerText,
  parseTimestampText,
  setOwn,
} from './values.js';
import { writeXmlMembers, xmlEscape } from './xml.js';

/** The decoded parameters of one request, keyed by full parameter name (first value wins). */
type Params = Map<string, string>;

// Parameters are read by operation() and again by decodeInput(); parse once per request.
const parsed = new WeakMap<WireRequest, Params>();

function malformed(message: string): AwsError {
  return new AwsError({ code: 'MalformedQueryString', message });
}

function invalidValue(name: string, value: string, expected: string): AwsError {
  return new AwsError({
    code: 'InvalidParameterValue',
    message: `Value (${value}) for parameter ${name} is invalid. Expected ${expected}.`,
  });
}

/**
 * The request's parameters: the query string, plus the form body when there is one.
 * A body that is not form-encoded UTF-8 is refused.
 */
export function queryParams(req: WireRequest): Params {
  const cached = parsed.get(req);
  if (cached) return cached;
  const params: Params = new Map();
  const add = (source: URLSearchParams) => {
    for (const [k, v] of source) if (!params.has(k)) params.set(k, v);
  };
  if (req.body.length > 0) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== '' && type !== 'application/x-www-form-urlencoded') {
      throw malformed(`Unsupported content type ${type}; expected application/x-www-form-urlencoded.`);
    }
    const text = decodeUtf8(req.body);
    if (text === undefined) throw malformed('The request body is not valid UTF-8.');
    add(new URLSearchParams(text));
  }
  add(req.query);
  parsed.set(req, params);
  return params;
}

/** The codec for one query-protocol service. */
export class QueryCodec implements ProtocolCodec {
  private readonly namespace: string;

  constructor(private readonly model: ServiceModel) {
    this.namespace = model.metadata.xmlNamespace ?? `https://${model.metadata.endpointPrefix}.amazonaws.com/doc/${model.metadata.apiVersion}/`;
  }

  operation(req: WireRequest): string {
    const action = queryParams(req).get('Action');
    if (action === undefined || action === '') {
      throw new AwsError({ code: 'MissingAction', message: 'The request must contain the parameter Action.' });
    }
    if (!operationOf(this.model, action)) {
      throw new AwsError({
        code: 'InvalidAction',
        message: `Could not find operation ${action} for version ${queryParams(req).get('Version') ?? this.model.metadata.apiVersion}`,
      });
    }
    return action;
  }

  decodeInput(operation: string, req: WireRequest): Record<string, unknown> {
    const op = operationOf(this.model, operation);
    if (!op) throw new AwsError({ code: 'InvalidAction', message: `Could not find operation ${operation}` });
    return readStructure(this.model, inputShapeOf(this.model, op), '', queryParams(req)) ?? {};
  }

  encodeOutput(operation: string, output: Record<string, unknown>, requestId: string): WireResponse {
    const op = operationOf(this.model, operation);
    if (!op) throw new Error(`Unknown operation ${operation}`);
    const out: string[] = [`<${operation}Response xmlns="${xmlEscape(this.namespace)}">`];
    if (op.output) {
      const wrapper = op.output.resultWrapper;
      if (wrapper) out.push(`<${wrapper}>`);
      writeXmlMembers(this.model, outputShapeOf(this.model, op), output, out);
      if (wrapper) out.push(`</${wrapper}>`);
    }
    out.push(`<ResponseMetadata><RequestId>${xmlEscape(requestId)}</RequestId></ResponseMetadata></${operation}Response>`);
    return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': requestId }, body: out.join('') };
  }

  encodeError(error: AwsError, requestId: string): WireResponse {
    const extra = Object.entries(error.extra)
      .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
      .join('');
    const body =
      `<ErrorResponse xmlns="${xmlEscape(this.namespace)}"><Error><Type>${error.fault}</Type>` +
      `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message>${extra}</Error>` +
      `<RequestId>${xmlEscape(requestId)}</RequestId></ErrorResponse>`;
    return {
      status: error.status,
      headers: { ...error.headers, 'content-type': 'text/xml', 'x-amzn-RequestId': requestId },
      body,
    };
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** True when any parameter is `name` itself or nested under it. */
function present(params: Params, name: string): boolean {
  if (params.has(name)) return true;
  const dotted = name + '.';
  for (const k of params.keys()) if (k.startsWith(dotted)) return true;
  return false;
}

/** The positive indices used under `prefix.` (`prefix.3`, `prefix.3.x`...), ascending. */
function indices(params: Params, prefix: string): number[] {
  const dotted = prefix + '.';
  const found = new Set<number>();
  for (const k of params.keys()) {
    if (!k.startsWith(dotted)) continue;
    const segment = k.slice(dotted.length).split('.', 1)[0] ?? '';
    if (/^[1-9]\d{0,5}$/.test(segment)) found.add(Number(segment));
  }
  return [...found].sort((a, b) => a - b);
}

function readStructure(model: ServiceModel, shape: StructureShape, prefix: string, params: Params): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [name, ref] of Object.entries(shape.members)) {
    const value = readValue(model, ref, join(prefix, ref.locationName ?? name), params);
    if (value !== undefined) {
      out[name] = value;
      any = true;
    }
  }
  return any || prefix === '' ? out : undefined;
}

function readValue(model: ServiceModel, ref: ShapeRef, name: string, params: Params): unknown {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case 'structure':
      return present(params, name) ? (readStructure(model, shape, name, params) ?? {}) : undefined;
    case 'list': {
      let listPrefix: string;
      if (ref.flattened || shape.flattened) {
        const itemName = shape.member.locationName;
        listPrefix = itemName ? join(name.split('.').slice(0, -1).join('.'), itemName) : name;
      } else {
        listPrefix = `${name}.${shape.member.locationName ?? 'member'}`;
      }
      const found = indices(params, listPrefix);
      // `Name=` with nothing under it is how clients send an empty list.
      if (found.length === 0) return params.get(name) === '' ? [] : undefined;
      return found.map((i) => readValue(model, shape.member, `${listPrefix}.${i}`, params)).filter((v) => v !== undefined);
    }
    case 'map': {
      const mapPrefix = ref.flattened || shape.flattened ? name : `${name}.entry`;
      const keyName = shape.key.locationName ?? 'key';
      const valueName = shape.value.locationName ?? 'value';
      const found = indices(params, mapPrefix);
      if (found.length === 0) return params.get(name) === '' ? {} : undefined;
      const out: Record<string, unknown> = {};
      for (const i of found) {
        const key = params.get(`${mapPrefix}.${i}.${keyName}`);
        if (key === undefined) continue;
        setOwn(out, key, readValue(model, shape.value, `${mapPrefix}.${i}.${valueName}`, params));
      }
      return out;
    }
    default: {
      const text = params.get(name);
      if (text === undefined) return undefined;
      switch (shape.type) {
        case 'string':
          return text;
        case 'boolean': {
          const b = parseBooleanText(text);
          if (b === undefined) throw invalidValue(name, text, 'true or false');
          return b;
        }
        case 'integer':
        case 'long': {
          const n = parseIntegerText(text, shape.type);
          if (n === undefined) throw invalidValue(name, text, `an ${shape.type === 'integer' ? '32' : '64'}-bit integer`);
          return n;
        }
        case 'double':
        case 'float': {
          const n = parseFloatText(text);
          if (n === undefined) throw invalidValue(name, text, 'a number');
          return n;
        }
        case 'timestamp': {
          const d = parseTimestampText(text, ref.timestampFormat ?? shape.timestampFormat ?? 'iso8601');
          if (!d) throw invalidValue(name, text, 'an ISO 8601 timestamp');
          return d;
        }
        case 'blob': {
          const bytes = decodeBase64(text);
          if (!bytes) throw invalidValue(name, text, 'base64 data');
          return bytes;
        }
      }
    }
  }
}
