/**
 * Picks the protocol codec for a service model. The server asks here once per request
 * and then runs operation → decodeInput → (service) → encodeOutput / encodeError.
 */
import { CborCodec } from './cbor-codec.js';
import { JsonCodec } from './json-codec.js';
import type { Protocol, ServiceModel } from './model.js';
import { QueryCodec } from './query-codec.js';
import { RestCodec } from './rest-codec.js';
import type { ProtocolCodec, WireRequest } from './types.js';

export type { ProtocolCodec, WireRequest, WireResponse } from './types.js';

/**
 * Protocols a service speaks when its trimmed model does not list them: CloudWatch's
 * full model lists smithy-rpc-v2-cbor, json and query; botocore 1.43+ (the AWS CLI) and
 * the current JS SDK send CBOR, older SDKs JSON or query.
 */
const EXTRA_PROTOCOLS: Record<string, Protocol[]> = { CloudWatch: ['smithy-rpc-v2-cbor', 'json', 'query'] };

const SUPPORTED: Protocol[] = ['json', 'rest-json', 'rest-xml', 'query', 'smithy-rpc-v2-cbor'];

// Codecs keep lazily built routing tables, so one per model is worth keeping.
const codecs = new WeakMap<ServiceModel, Map<Protocol, ProtocolCodec>>();

/** The protocols of a model this package can serve, best first. */
export function protocolsOf(model: ServiceModel): Protocol[] {
  const listed = model.metadata.protocols ?? EXTRA_PROTOCOLS[model.metadata.serviceId] ?? [model.metadata.protocol];
  return listed.filter((p) => SUPPORTED.includes(p));
}

/** Which of a multi-protocol service's protocols a request uses. */
function protocolOfRequest(protocols: Protocol[], req: WireRequest): Protocol | undefined {
  if (req.headers['x-amz-target'] !== undefined && protocols.includes('json')) return 'json';
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-amz-json') && protocols.includes('json')) return 'json';
  if (protocols.includes('query') && (type.startsWith('application/x-www-form-urlencoded') || req.query.has('Action'))) return 'query';
  if (protocols.includes('smithy-rpc-v2-cbor') && (req.headers['smithy-protocol'] !== undefined || req.rawPath.startsWith('/service/'))) {
    return 'smithy-rpc-v2-cbor';
  }
  return undefined;
}

/**
 * The protocol a request to `model` is served in (the model's first supported one when
 * the request does not say, or when no request is given).
 */
export function protocolFor(model: ServiceModel, req?: WireRequest): Protocol {
  const protocols = protocolsOf(model);
  const first = protocols[0];
  if (!first) throw new Error(`No supported protocol for ${model.metadata.serviceId} (${model.metadata.protocol})`);
  return (req && protocols.length > 1 ? protocolOfRequest(protocols, req) : undefined) ?? first;
}

/**
 * The codec for a service. For a service that speaks more than one protocol
 * (CloudWatch), pass the request: the codec returned is the one that request uses, and
 * the same codec must encode its response.
 *
 * @example
 * const codec = codecFor(loadModel('cloudtrail'));
 * const op = codec.operation(req);
 * const input = codec.decodeInput(op, req);
 */
export function codecFor(model: ServiceModel, req?: WireRequest): ProtocolCodec {
  const protocol = protocolFor(model, req);
  let perModel = codecs.get(model);
  if (!perModel) {
    perModel = new Map();
    codecs.set(model, perModel);
  }
  let codec = perModel.get(protocol);
  if (!codec) {
    codec = create(model, protocol);
    perModel.set(protocol, codec);
  }
  return codec;
}

function create(model: ServiceModel, protocol: Protocol): ProtocolCodec {
  switch (protocol) {
    case 'json':
      return new JsonCodec(model);
    case 'query':
      return new QueryCodec(model);
    case 'smithy-rpc-v2-cbor':
      return new CborCodec(model);
    case 'rest-xml':
    case 'rest-json':
      return new RestCodec(model);
    default:
      throw new Error(`Protocol ${protocol} is not supported`);
  }
}
