/**
 * The REST protocols: REST-XML (S3) and REST-JSON (CloudTrail Data). Requests are routed
 * by the model's `http.method` + `http.requestUri` templates; members travel in URI
 * labels, query parameters, headers and the body (or the payload member) as the model
 * places them.
 */
import { hash } from 'node:crypto';
import { AwsError } from '../platform/errors.js';
import { inputShapeOf, operationOf, outputShapeOf, shapeOf } from './model.js';
import type { OperationModel, ServiceModel, Shape, ShapeRef, StructureShape, TimestampFormat } from './model.js';
import { parseJsonObject, readJsonStructure, readJsonValue, writeJsonStructure, writeJsonValue } from './json-serde.js';
import type { ProtocolCodec, WireRequest, WireResponse } from './types.js';
import {
  decodeUtf8,
  formatTimestamp,
  isRecord,
  numberText,
  outputBytes,
  outputDate,
  outputNumber,
  parseBooleanText,
  parseFloatText,
  parseIntegerText,
  parseTimestampText,
  setOwn,
} from './values.js';
import {
  XmlSyntaxError,
  XmlValueError,
  parseXmlDocument,
  readXmlStructure,
  readXmlValue,
  writeXmlElement,
  writeXmlMembers,
  xmlEscape,
} from './xml.js';

/** S3's document namespace (the model's metadata does not carry it). */
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Root elements S3 uses for outputs whose body is the output structure itself (the
 * model leaves them unnamed). Others default to `<Operation>Result`.
 */
const S3_OUTPUT_ROOTS: Record<string, string> = {
  ListBuckets: 'ListAllMyBucketsResult',
  ListDirectoryBuckets: 'ListAllMyDirectoryBucketsResult',
  ListObjects: 'ListBucketResult',
  ListObjectsV2: 'ListBucketResult',
  ListObjectVersions: 'ListVersionsResult',
  ListMultipartUploads: 'ListMultipartUploadsResult',
  ListParts: 'ListPartsResult',
  CreateMultipartUpload: 'InitiateMultipartUploadResult',
  CompleteMultipartUpload: 'CompleteMultipartUploadResult',
  DeleteObjects: 'DeleteResult',
  GetBucketVersioning: 'VersioningConfiguration',
  GetBucketAcl: 'AccessControlPolicy',
  GetObjectAcl: 'AccessControlPolicy',
  GetBucketTagging: 'Tagging',
  GetObjectTagging: 'Tagging',
  GetBucketCors: 'CORSConfiguration',
  GetBucketLifecycleConfiguration: 'LifecycleConfiguration',
  GetBucketNotificationConfiguration: 'NotificationConfiguration',
  GetBucketLogging: 'BucketLoggingStatus',
  GetBucketWebsite: 'WebsiteConfiguration',
  GetBucketRequestPayment: 'RequestPaymentConfiguration',
  GetBucketAccelerateConfiguration: 'AccelerateConfiguration',
  GetObjectAttributes: 'GetObjectAttributesResponse',
  ListBucketAnalyticsConfigurations: 'ListBucketAnalyticsConfigurationResult',
  ListBucketMetricsConfigurations: 'ListMetricsConfigurationsResult',
  ListBucketInventoryConfigurations: 'ListInventoryConfigurationsResult',
  ListBucketIntelligentTieringConfigurations: 'ListBucketIntelligentTieringConfigurationsOutput',
};

interface Route {
  operation: string;
  method: string;
  path: RegExp;
  labels: { name: string; greedy: boolean }[];
  /** Literal query parts of the template: `?uploads` (any value) or `?list-type=2`. */
  queryLiterals: [string, string | undefined][];
  requiredQuery: string[];
  requiredHeaders: string[];
  literalLength: number;
  deprecated: boolean;
}

type BodyFormat = 'xml' | 'json';

/** True for members that do not travel in the body. */
const located = (ref: ShapeRef): boolean => ref.location !== undefined;

/** A structure member as the codec binds it, worked out once per shape. */
interface Binding {
  name: string;
  ref: ShapeRef;
  shape: Shape;
  wireName: string;
  /** The header name, lower-cased as Node gives request headers. */
  headerName: string;
}

interface Bindings {
  members: Binding[];
  /** Query parameters bound to members, which a map member's catch-all leaves out. */
  boundQuery: Set<string>;
  /** True when some member travels in the body. */
  hasBodyMembers: boolean;
}

/** The codec for one REST-XML or REST-JSON service. */
export class RestCodec implements ProtocolCodec {
  private readonly format: BodyFormat;
  private readonly isS3: boolean;
  private routes: Route[] | undefined;
  private routesByMethod: Map<string, Route[]> | undefined;
  private routesByOperation: Map<string, Route> | undefined;
  private readonly bindings = new Map<StructureShape, Bindings>();

  constructor(private readonly model: ServiceModel) {
    this.format = model.metadata.protocol === 'rest-xml' ? 'xml' : 'json';
    this.isS3 = model.metadata.serviceId === 'S3';
  }

  private allRoutes(): Route[] {
    this.routes ??= Object.values(this.model.operations).map((op) => buildRoute(this.model, op));
    return this.routes;
  }

  private routesFor(method: string): Route[] {
    if (!this.routesByMethod) {
      const byMethod = new Map<string, Route[]>();
      for (const r of this.allRoutes()) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r]);
      this.routesByMethod = byMethod;
    }
    return this.routesByMethod.get(method) ?? [];
  }

  private bindingsOf(shape: StructureShape): Bindings {
    let b = this.bindings.get(shape);
    if (!b) {
      const members = Object.entries(shape.members).map(([name, ref]) => {
        const wireName = ref.locationName ?? name;
        return { name, ref, shape: shapeOf(this.model, ref), wireName, headerName: wireName.toLowerCase() };
      });
      b = {
        members,
        boundQuery: new Set(members.filter((m) => m.ref.location === 'querystring' && m.ref.locationName).map((m) => m.wireName)),
        hasBodyMembers: members.some((m) => !located(m.ref)),
      };
      this.bindings.set(shape, b);
    }
    return b;
  }

  private routeOf(operation: string): Route | undefined {
    this.routesByOperation ??= new Map(this.allRoutes().map((r) => [r.operation, r]));
    return this.routesByOperation.get(operation);
  }

  operation(req: WireRequest): string {
    const method = req.method.toUpperCase();
    const matches = (r: Route): boolean => r.path.test(req.rawPath) && queryMatches(r, req.query);
    const candidates = this.routesFor(method).filter(matches);
    // Which error: a resource that exists under another method (405) or none at all.
    if (candidates.length === 0) throw this.noRoute(req, this.allRoutes().some(matches));
    const xId = req.query.get('x-id');
    let best: Route | undefined;
    let bestScore: number[] = [];
    for (const r of candidates) {
      const score = [
        r.queryLiterals.length,
        r.requiredQuery.filter((q) => req.query.has(q)).length === r.requiredQuery.length ? r.requiredQuery.length : -1,
        r.requiredHeaders.filter((h) => req.headers[h] !== undefined).length === r.requiredHeaders.length ? r.requiredHeaders.length : -1,
        xId === r.operation ? 1 : 0,
        r.literalLength,
        r.labels.some((l) => l.greedy) ? 0 : 1,
        r.deprecated ? 0 : 1,
      ];
      if (!best || compareScores(score, bestScore) > 0) {
        best = r;
        bestScore = score;
      }
    }
    if (!best) throw this.noRoute(req, false);
    return best.operation;
  }

  private noRoute(req: WireRequest, pathKnown: boolean): AwsError {
    if (this.format === 'json') return new AwsError({ code: 'UnknownOperationException', message: '', status: 404 });
    if (pathKnown) {
      const segments = req.rawPath.split('/').filter((s) => s !== '').length;
      return new AwsError({
        code: 'MethodNotAllowed',
        message: 'The specified method is not allowed against this resource.',
        status: 405,
        extra: { Method: req.method.toUpperCase(), ResourceType: segments === 0 ? 'SERVICE' : segments === 1 ? 'BUCKET' : 'OBJECT' },
      });
    }
    return new AwsError({
      code: 'NotImplemented',
      message: 'A header you provided implies functionality that is not implemented',
      status: 501,
      fault: 'Receiver',
    });
  }

  private malformedBody(detail: string): AwsError {
    if (this.format === 'json') return new AwsError({ code: 'SerializationException', message: detail });
    return new AwsError({
      code: 'MalformedXML',
      message: 'The XML you provided was not well-formed or did not validate against our published schema',
    });
  }

  private badValue(where: string, name: string, value: string): AwsError {
    if (this.format === 'json') {
      return new AwsError({ code: 'SerializationException', message: `Invalid value '${value}' for ${where} ${name}.` });
    }
    return new AwsError({ code: 'InvalidArgument', message: `Invalid value for ${where} ${name}.`, extra: { ArgumentName: name, ArgumentValue: value } });
  }

  decodeInput(operation: string, req: WireRequest): Record<string, unknown> {
    const op = operationOf(this.model, operation);
    if (!op) throw this.noRoute(req, false);
    const shape = inputShapeOf(this.model, op);
    const route = this.routeOf(operation);
    const out: Record<string, unknown> = {};
    const labels = route ? this.labelValues(route, req.rawPath) : {};
    const bindings = this.bindingsOf(shape);
    const isBound = (k: string): boolean => bindings.boundQuery.has(k) || (route?.queryLiterals.some(([literal]) => literal === k) ?? false);

    for (const { name, ref, shape: memberShape, wireName, headerName } of bindings.members) {
      switch (ref.location) {
        case 'uri': {
          const v = labels[wireName];
          if (v !== undefined) out[name] = v;
          break;
        }
        case 'querystring': {
          if (memberShape.type === 'map') {
            const map: Record<string, unknown> = {};
            for (const [k, v] of req.query) if (!isBound(k) && !Object.hasOwn(map, k)) setOwn(map, k, v);
            if (Object.keys(map).length > 0) out[name] = map;
          } else if (memberShape.type === 'list') {
            const all = req.query.getAll(wireName);
            if (all.length > 0) out[name] = all.map((v) => this.scalarFromText(shapeOf(this.model, memberShape.member), ref, v, 'query parameter', wireName, 'iso8601'));
          } else {
            const v = req.query.get(wireName);
            if (v !== null) out[name] = this.scalarFromText(memberShape, ref, v, 'query parameter', wireName, 'iso8601');
          }
          break;
        }
        case 'header': {
          const v = req.headers[headerName];
          if (v === undefined) break;
          if (memberShape.type === 'list') {
            const itemShape = shapeOf(this.model, memberShape.member);
            out[name] = v
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
              .map((s) => this.scalarFromText(itemShape, memberShape.member, s, 'header', wireName, 'rfc822'));
          } else {
            out[name] = this.scalarFromText(memberShape, ref, v, 'header', wireName, 'rfc822');
          }
          break;
        }
        case 'headers': {
          const prefix = headerName;
          const map: Record<string, unknown> = {};
          for (const [h, v] of Object.entries(req.headers)) if (h.startsWith(prefix)) setOwn(map, h.slice(prefix.length), v);
          if (Object.keys(map).length > 0) out[name] = map;
          break;
        }
        default:
          break;
      }
    }
    Object.assign(out, this.decodeBody(shape, req));
    return out;
  }

  private labelValues(route: Route, rawPath: string): Record<string, string> {
    const m = route.path.exec(rawPath);
    const values: Record<string, string> = {};
    if (!m) return values;
    route.labels.forEach((label, i) => {
      const raw = m[i + 1];
      if (raw === undefined) return;
      try {
        values[label.name] = decodeURIComponent(raw);
      } catch {
        throw this.isS3
          ? new AwsError({ code: 'InvalidURI', message: "Couldn't parse the specified URI.", extra: { URI: rawPath } })
          : this.malformedBody(`Invalid percent-encoding in URI label ${label.name}.`);
      }
    });
    return values;
  }

  private scalarFromText(shape: Shape, ref: ShapeRef, text: string, where: string, name: string, defaultFormat: TimestampFormat): unknown {
    switch (shape.type) {
      case 'string': {
        if (ref.jsonvalue || shape.jsonvalue) {
          const decoded = Buffer.from(text, 'base64').toString('utf8');
          try {
            return JSON.parse(decoded) as unknown;
          } catch {
            throw this.badValue(where, name, text);
          }
        }
        return text;
      }
      case 'boolean': {
        const b = parseBooleanText(text);
        if (b === undefined) throw this.badValue(where, name, text);
        return b;
      }
      case 'integer':
      case 'long': {
        const n = parseIntegerText(text, shape.type);
        if (n === undefined) throw this.badValue(where, name, text);
        return n;
      }
      case 'double':
      case 'float': {
        const n = parseFloatText(text);
        if (n === undefined) throw this.badValue(where, name, text);
        return n;
      }
      case 'timestamp': {
        const d = parseTimestampText(text, ref.timestampFormat ?? shape.timestampFormat ?? defaultFormat);
        if (!d) throw this.badValue(where, name, text);
        return d;
      }
      case 'blob':
        return Buffer.from(text, 'base64');
      default:
        return text;
    }
  }

  private decodeBody(shape: StructureShape, req: WireRequest): Record<string, unknown> {
    const payloadName = shape.payload;
    if (payloadName) {
      const ref = shape.members[payloadName];
      if (!ref) return {};
      const payloadShape = shapeOf(this.model, ref);
      if (payloadShape.type === 'blob') {
        return req.body.length > 0 || ref.streaming || payloadShape.streaming ? { [payloadName]: req.body } : {};
      }
      if (payloadShape.type === 'string') {
        if (req.body.length === 0) return {};
        const text = decodeUtf8(req.body);
        if (text === undefined) throw this.malformedBody('Body is not valid UTF-8.');
        return { [payloadName]: text };
      }
      if (req.body.length === 0) return {};
      if (this.format === 'json') {
        const obj = parseJsonObject(req.body);
        return { [payloadName]: readJsonValue(this.model, ref, obj, payloadName) };
      }
      const { node } = this.parseXml(req.body);
      return { [payloadName]: this.guardXml(() => readXmlValue(this.model, ref, node, payloadName)) };
    }
    if (!this.bindingsOf(shape).hasBodyMembers || req.body.length === 0) return {};
    if (this.format === 'json') return readJsonStructure(this.model, shape, parseJsonObject(req.body), '', located);
    const { node } = this.parseXml(req.body);
    return this.guardXml(() => readXmlStructure(this.model, shape, node, located));
  }

  private parseXml(body: Buffer) {
    try {
      return parseXmlDocument(body);
    } catch (e) {
      if (e instanceof XmlSyntaxError) throw this.malformedBody(e.message);
      throw e;
    }
  }

  private guardXml<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof XmlValueError || e instanceof XmlSyntaxError) throw this.malformedBody(e.message);
      throw e;
    }
  }

  encodeOutput(operation: string, output: Record<string, unknown>, requestId: string): WireResponse {
    const op = operationOf(this.model, operation);
    if (!op) throw new Error(`Unknown operation ${operation}`);
    const shape = outputShapeOf(this.model, op);
    const headers: Record<string, string> = this.requestIdHeaders(requestId);
    let status = op.http.responseCode ?? 200;
    let body: Buffer | string = '';

    for (const { name, ref, shape: memberShape, headerName } of this.bindingsOf(shape).members) {
      const value = output[name];
      if (value === undefined || value === null) continue;
      if (ref.location === 'statusCode') {
        const n = outputNumber(value);
        if (n !== undefined) status = n;
      } else if (ref.location === 'header') {
        const text = this.headerText(memberShape, ref, value);
        if (text !== undefined) headers[headerName] = text;
      } else if (ref.location === 'headers' && isRecord(value)) {
        for (const [k, v] of Object.entries(value)) {
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') headers[headerName + k.toLowerCase()] = String(v);
        }
      }
    }

    // A ranged GET answers 206; the model has no status member for it.
    if (this.isS3 && operation === 'GetObject' && output.ContentRange !== undefined) status = 206;

    const payloadName = shape.payload;
    if (payloadName) {
      const ref = shape.members[payloadName];
      const value = output[payloadName];
      if (ref && value !== undefined && value !== null) {
        const payloadShape = shapeOf(this.model, ref);
        if (payloadShape.type === 'blob' || payloadShape.type === 'string') {
          body = outputBytes(value) ?? '';
          headers['content-type'] ??= 'application/octet-stream';
        } else if (this.format === 'json') {
          body = JSON.stringify(writeJsonValue(this.model, ref, value) ?? {});
          headers['content-type'] ??= 'application/json';
        } else {
          const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
          const rootNs = ref.xmlNamespace ?? payloadShape.xmlNamespace ?? (this.isS3 ? { uri: S3_NAMESPACE } : undefined);
          writeXmlElement(this.model, ref.locationName ?? payloadShape.locationName ?? payloadName, ref, value, out, rootNs);
          body = out.join('');
          headers['content-type'] ??= 'application/xml';
        }
      }
    } else if (this.bindingsOf(shape).hasBodyMembers) {
      if (this.format === 'json') {
        body = JSON.stringify(writeJsonStructure(this.model, shape, output, located));
        headers['content-type'] = 'application/json';
      } else {
        body = this.xmlDocument(op, shape, output);
        headers['content-type'] = 'application/xml';
      }
    } else if (this.format === 'json') {
      body = '{}';
      headers['content-type'] = 'application/json';
    }
    if (op.http.method === 'HEAD') body = '';
    return { status, headers, body };
  }

  private xmlDocument(op: OperationModel, shape: StructureShape, output: Record<string, unknown>): string {
    const ns = this.model.metadata.xmlNamespace ?? (this.isS3 ? S3_NAMESPACE : undefined);
    const nsAttr = ns ? ` xmlns="${xmlEscape(ns)}"` : '';
    const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
    if (this.isS3 && op.name === 'GetBucketLocation') {
      // S3 answers with the bare constraint as the root's text (empty for us-east-1).
      const v = output.LocationConstraint;
      out.push(`<LocationConstraint${nsAttr}>${typeof v === 'string' ? xmlEscape(v) : ''}</LocationConstraint>`);
      return out.join('');
    }
    const root = shape.locationName ?? (this.isS3 ? S3_OUTPUT_ROOTS[op.name] : undefined) ?? `${op.name}Result`;
    out.push(`<${root}${nsAttr}>`);
    writeXmlMembers(this.model, shape, output, out, located);
    out.push(`</${root}>`);
    return out.join('');
  }

  private headerText(shape: Shape, ref: ShapeRef, value: unknown): string | undefined {
    switch (shape.type) {
      case 'string':
        if (ref.jsonvalue || shape.jsonvalue) return Buffer.from(JSON.stringify(value)).toString('base64');
        return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      case 'boolean':
        return typeof value === 'boolean' ? String(value) : undefined;
      case 'integer':
      case 'long':
      case 'double':
      case 'float': {
        const n = outputNumber(value);
        return n === undefined ? undefined : numberText(n);
      }
      case 'timestamp': {
        const d = outputDate(value);
        return d ? formatTimestamp(d, ref.timestampFormat ?? shape.timestampFormat ?? 'rfc822') : undefined;
      }
      case 'blob':
        return outputBytes(value)?.toString('base64');
      case 'list': {
        if (!Array.isArray(value)) return undefined;
        const item = shapeOf(this.model, shape.member);
        return value
          .map((v) => this.headerText(item, shape.member, v))
          .filter((s): s is string => s !== undefined)
          .join(', ');
      }
      default:
        return undefined;
    }
  }

  private requestIdHeaders(requestId: string): Record<string, string> {
    if (this.isS3) return { 'x-amz-request-id': requestId, 'x-amz-id-2': hostId(requestId) };
    return { 'x-amzn-RequestId': requestId };
  }

  encodeError(error: AwsError, requestId: string): WireResponse {
    const headers: Record<string, string> = { ...error.headers, ...this.requestIdHeaders(requestId) };
    if (this.format === 'json') {
      headers['x-amzn-ErrorType'] = error.code;
      headers['content-type'] = 'application/json';
      return { status: error.status, headers, body: JSON.stringify({ ...error.extra, message: error.message }) };
    }
    headers['content-type'] = 'application/xml';
    const extra = Object.entries(error.extra)
      .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
      .join('');
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code>` +
      `<Message>${xmlEscape(error.message)}</Message>${extra}` +
      `<RequestId>${xmlEscape(requestId)}</RequestId><HostId>${xmlEscape(hostId(requestId))}</HostId></Error>`;
    return { status: error.status, headers, body };
  }
}

/** S3's `x-amz-id-2`/`<HostId>`: an opaque token, derived from the request id so it needs no randomness. */
function hostId(requestId: string): string {
  return hash('sha256', requestId, 'base64');
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function queryMatches(route: Route, query: URLSearchParams): boolean {
  return route.queryLiterals.every(([k, v]) => (v === undefined ? query.has(k) : query.get(k) === v));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles one operation's `requestUri` template into a route. */
function buildRoute(model: ServiceModel, op: OperationModel): Route {
  const [pathTemplate = '/', queryTemplate = ''] = op.http.requestUri.split('?', 2);
  const labels: Route['labels'] = [];
  let literalLength = 0;
  let pattern = '';
  const tokens = pathTemplate.split(/(\{[^}]+\})/);
  for (const token of tokens) {
    const label = /^\{([^}+]+)(\+?)\}$/.exec(token);
    if (label?.[1]) {
      const greedy = label[2] === '+';
      labels.push({ name: label[1], greedy });
      pattern += greedy ? '(.+)' : '([^/]+)';
    } else {
      literalLength += token.length;
      pattern += escapeRegExp(token);
    }
  }
  // `/{Bucket}` also answers `/bucket/`, as S3 does.
  if (!pattern.endsWith('/') && !pattern.endsWith('(.+)')) pattern += '/?';
  const queryLiterals: Route['queryLiterals'] = queryTemplate
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return eq === -1 ? [p, undefined] : [p.slice(0, eq), p.slice(eq + 1)];
    });
  const input = inputShapeOf(model, op);
  const required = new Set(input.required ?? []);
  const requiredQuery: string[] = [];
  const requiredHeaders: string[] = [];
  for (const [name, ref] of Object.entries(input.members)) {
    if (!required.has(name)) continue;
    if (ref.location === 'querystring') requiredQuery.push(ref.locationName ?? name);
    if (ref.location === 'header') requiredHeaders.push((ref.locationName ?? name).toLowerCase());
  }
  return {
    operation: op.name,
    method: op.http.method.toUpperCase(),
    path: new RegExp(`^${pattern}$`),
    labels,
    queryLiterals,
    requiredQuery,
    requiredHeaders,
    literalLength,
    deprecated: op.deprecated === true,
  };
}
