/**
 * The AWS JSON 1.0/1.1 protocol (CloudTrail, Logs, EventBridge, KMS, Organizations,
 * SQS, CloudWatch): `X-Amz-Target` names the operation, the body is the input object,
 * errors carry `__type` and, for services that replaced a query API, the query code too.
 */
import { errors } from '../platform/errors.js';
import type { AwsError } from '../platform/errors.js';
import { inputShapeOf, operationOf, outputShapeOf } from './model.js';
import type { ServiceModel } from './model.js';
import { parseJsonObject, readJsonStructure, writeJsonStructure } from './json-serde.js';
import type { ProtocolCodec, WireRequest, WireResponse } from './types.js';

/**
 * Services whose full botocore model carries `awsQueryCompatible` (the trimmed models
 * in src/models drop that key, so it is recognised by serviceId as well).
 */
const QUERY_COMPATIBLE_SERVICES = new Set(['SQS', 'CloudWatch']);

/** True when errors must also carry `x-amzn-query-error` for clients of the old query API. */
export function isQueryCompatible(model: ServiceModel): boolean {
  return model.metadata.awsQueryCompatible !== undefined || QUERY_COMPATIBLE_SERVICES.has(model.metadata.serviceId);
}

/** The codec for one JSON-protocol service. */
export class JsonCodec implements ProtocolCodec {
  private readonly contentType: string;
  private readonly queryCompatible: boolean;

  constructor(private readonly model: ServiceModel) {
    this.contentType = `application/x-amz-json-${model.metadata.jsonVersion ?? '1.0'}`;
    this.queryCompatible = isQueryCompatible(model);
  }

  operation(req: WireRequest): string {
    const target = req.headers['x-amz-target'] ?? '';
    const dot = target.lastIndexOf('.');
    const service = target.slice(0, dot);
    const name = target.slice(dot + 1);
    // botocore sends the model's full targetPrefix; Smithy-built SDKs send only its last
    // segment (`CloudTrail_20131101`), and AWS accepts both.
    const prefix = this.model.metadata.targetPrefix ?? '';
    const knownService = dot > 0 && (service === prefix || prefix.endsWith(`.${service}`));
    if (!knownService || !name || !operationOf(this.model, name)) throw errors.unknownOperation();
    return name;
  }

  decodeInput(operation: string, req: WireRequest): Record<string, unknown> {
    const op = operationOf(this.model, operation);
    if (!op) throw errors.unknownOperation();
    const body = parseJsonObject(req.body);
    return readJsonStructure(this.model, inputShapeOf(this.model, op), body, '');
  }

  encodeOutput(operation: string, output: Record<string, unknown>, requestId: string): WireResponse {
    const op = operationOf(this.model, operation);
    if (!op) throw new Error(`Unknown operation ${operation}`);
    const body = writeJsonStructure(this.model, outputShapeOf(this.model, op), output);
    return {
      status: op.http.responseCode ?? 200,
      headers: { 'content-type': this.contentType, 'x-amzn-RequestId': requestId },
      body: JSON.stringify(body),
    };
  }

  encodeError(error: AwsError, requestId: string): WireResponse {
    const headers: Record<string, string> = {
      ...error.headers,
      'content-type': this.contentType,
      'x-amzn-RequestId': requestId,
      'x-amzn-ErrorType': error.code,
    };
    if (this.queryCompatible) headers['x-amzn-query-error'] = `${queryErrorCode(this.model, error.code)};${error.fault}`;
    const body: Record<string, unknown> = { ...error.extra, __type: error.code };
    if (error.message !== '') body.message = error.message;
    return { status: error.status, headers, body: JSON.stringify(body) };
  }
}

/** The code the service's old query API used for an error (the model's `error.code`), else the code itself. */
export function queryErrorCode(model: ServiceModel, code: string): string {
  const shape = Object.hasOwn(model.shapes, code) ? model.shapes[code] : undefined;
  return shape?.type === 'structure' && shape.error?.code ? shape.error.code : code;
}
