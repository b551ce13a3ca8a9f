/**
 * Types for the trimmed botocore service models in src/models/ and the loader that reads
 * them. Every codec and validator in wire/ walks these shapes; nothing here knows HTTP.
 */
import { readFileSync } from 'node:fs';

/** `xmlNamespace` as the model spells it on shapes and members. */
export interface XmlNamespace {
  uri: string;
  prefix?: string;
}

/** Where a member travels in a REST request or response. */
export type MemberLocation = 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';

export type TimestampFormat = 'iso8601' | 'rfc822' | 'unixTimestamp';

/** A reference to a shape, with the traits a member (or an operation's input/output) adds. */
export interface ShapeRef {
  shape: string;
  location?: MemberLocation;
  locationName?: string;
  flattened?: boolean;
  xmlNamespace?: XmlNamespace;
  xmlAttribute?: boolean;
  streaming?: boolean;
  idempotencyToken?: boolean;
  jsonvalue?: boolean;
  timestampFormat?: TimestampFormat;
  hostLabel?: boolean;
  eventpayload?: boolean;
  deprecated?: boolean;
  box?: boolean;
}

/** Traits every shape may carry. */
interface ShapeBase {
  locationName?: string;
  xmlNamespace?: XmlNamespace;
  sensitive?: boolean;
  deprecated?: boolean;
}

export interface StructureShape extends ShapeBase {
  type: 'structure';
  members: Record<string, ShapeRef>;
  required?: string[];
  payload?: string;
  exception?: boolean;
  fault?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  union?: boolean;
  event?: boolean;
  eventstream?: boolean;
  synthetic?: boolean;
  xmlOrder?: string[];
  /** A JSON document of any shape, passed through as parsed (Smithy's document type). */
  document?: boolean;
}

export interface ListShape extends ShapeBase {
  type: 'list';
  member: ShapeRef;
  min?: number;
  max?: number;
  flattened?: boolean;
}

export interface MapShape extends ShapeBase {
  type: 'map';
  key: ShapeRef;
  value: ShapeRef;
  min?: number;
  max?: number;
  flattened?: boolean;
}

export interface StringShape extends ShapeBase {
  type: 'string';
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  jsonvalue?: boolean;
}

export interface NumberShape extends ShapeBase {
  type: 'integer' | 'long' | 'double' | 'float';
  min?: number;
  max?: number;
  box?: boolean;
}

export interface BooleanShape extends ShapeBase {
  type: 'boolean';
  box?: boolean;
}

export interface TimestampShape extends ShapeBase {
  type: 'timestamp';
  timestampFormat?: TimestampFormat;
}

export interface BlobShape extends ShapeBase {
  type: 'blob';
  min?: number;
  max?: number;
  streaming?: boolean;
}

export type Shape =
  | StructureShape
  | ListShape
  | MapShape
  | StringShape
  | NumberShape
  | BooleanShape
  | TimestampShape
  | BlobShape;

export interface HttpTrait {
  method: string;
  requestUri: string;
  responseCode?: number;
}

export interface OperationModel {
  name: string;
  http: HttpTrait;
  input?: ShapeRef;
  /** `resultWrapper` names the query protocol's `<OperationResult>` element. */
  output?: ShapeRef & { resultWrapper?: string };
  errors?: ShapeRef[];
  idempotent?: boolean;
  deprecated?: boolean;
  authtype?: string;
}

export type Protocol = 'json' | 'query' | 'rest-xml' | 'rest-json' | 'ec2' | 'smithy-rpc-v2-cbor';

export interface ServiceMetadata {
  apiVersion: string;
  endpointPrefix: string;
  protocol: Protocol;
  /** Every protocol the service speaks, best first (absent in older models). */
  protocols?: Protocol[];
  serviceId: string;
  jsonVersion?: string;
  signingName?: string;
  targetPrefix?: string;
  xmlNamespace?: string;
  globalEndpoint?: string;
  /** Present on JSON services that replaced a query API and still report query error codes. */
  awsQueryCompatible?: Record<string, never>;
}

export interface ServiceModel {
  metadata: ServiceMetadata;
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}

// A plain Map holds parsed models; creating it at import time does no work.
const cache = new Map<string, ServiceModel>();

/**
 * Reads `src/models/<name>.json` (or `dist/models/` once built) and caches it per name.
 *
 * @example const cloudtrail = loadModel('cloudtrail');
 */
export function loadModel(name: string): ServiceModel {
  const cached = cache.get(name);
  if (cached) return cached;
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`Invalid service model name: ${name}`);
  const text = readFileSync(new URL('../models/' + name + '.json', import.meta.url), 'utf8');
  const model = JSON.parse(text) as ServiceModel;
  cache.set(name, model);
  return model;
}

/** The shape a reference points at; a missing shape is a broken model, not a caller error. */
export function shapeOf(model: ServiceModel, ref: ShapeRef | string): Shape {
  const name = typeof ref === 'string' ? ref : ref.shape;
  const shape = model.shapes[name];
  if (!shape) throw new Error(`Shape ${name} is missing from the ${model.metadata.serviceId} model`);
  return shape;
}

/** The operation by name, or undefined when the model has none by that name. */
export function operationOf(model: ServiceModel, name: string): OperationModel | undefined {
  return Object.hasOwn(model.operations, name) ? model.operations[name] : undefined;
}

/** The input structure of an operation (an empty one when the operation takes no input). */
export function inputShapeOf(model: ServiceModel, op: OperationModel): StructureShape {
  return structureOf(model, op.input);
}

/** The output structure of an operation (an empty one when the operation returns nothing). */
export function outputShapeOf(model: ServiceModel, op: OperationModel): StructureShape {
  return structureOf(model, op.output);
}

function structureOf(model: ServiceModel, ref: ShapeRef | undefined): StructureShape {
  if (!ref) return { type: 'structure', members: {} };
  const shape = shapeOf(model, ref);
  if (shape.type !== 'structure') throw new Error(`Shape ${ref.shape} is not a structure`);
  return shape;
}
