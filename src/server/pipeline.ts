/**
 * The one path every request takes: route to a service, authenticate (SigV4), decode
 * and validate the input against the AWS model, authorize with IAM's logic, run the
 * operation, and append the call's CloudTrail record to the event log before the
 * response is released. Nothing here knows sockets (server/http.ts does); nothing in
 * a service knows this file.
 */
import { parseSigV4, verifySigV4, type SigV4Claim } from '../auth/sigv4.js';
import { decodeAwsChunked } from '../auth/chunked.js';
import { accessDeniedMessage, evaluate, evaluateServiceControl, type AuthzResult, type PolicyDocument } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { buildCallRecord, recordUsername, type TlsDetails } from '../audit/record.js';
import type { EventLog, NewEvent } from '../eventlog/eventlog.js';
import type { Clock } from '../platform/clock.js';
import { AwsError, errors, isAwsError } from '../platform/errors.js';
import type { RandomSource } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { Telemetry } from '../platform/telemetry.js';
import { authzPrincipal, globalConditionContext } from '../services/authz.js';
import {
  recordNotes,
  type CallContext,
  type OperationSpec,
  type PublicRoute,
  type RecordResource,
  type ServiceDefinition,
} from '../services/service.js';
import { toPathStyle } from '../services/s3/addressing.js';
import type { Protocol } from '../wire/model.js';
import { codecFor, protocolFor, protocolsOf, type ProtocolCodec, type WireRequest, type WireResponse } from '../wire/protocol.js';
import { toRecordShape } from '../wire/record-shape.js';
import { validateInput } from '../wire/validate.js';

/** What the pipeline needs to know about a signing key. */
export interface ResolvedKey {
  secretAccessKey: string;
  principal: Principal;
  sessionToken?: string;
  expiresAt?: number;
  active: boolean;
}

export interface PipelineDeps {
  services: readonly ServiceDefinition[];
  credentials: {
    resolveAccessKey(accessKeyId: string): ResolvedKey | undefined;
    /** Feeds IAM's GetAccessKeyLastUsed; cheap to call on every request. */
    noteAccessKeyUsed(accessKeyId: string, use: { serviceName: string; region: string }): void;
  };
  policies: { identityPolicies(principal: Principal): PolicyDocument[] };
  eventLog: Pick<EventLog, 'append'>;
  /**
   * The service control policies limiting an account's principals, one list per level of
   * its organization path; undefined when none do (no organization, the management account).
   */
  serviceControlPolicies?: (accountId: string) => PolicyDocument[][] | undefined;
  /**
   * Whether a data event is recorded at all: CloudTrail records one only for the trails that
   * select it. Without this every data event is recorded.
   */
  recordsDataEvent?: (event: NewEvent) => boolean;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** Host names of this server, under which `<bucket>.<host>` addresses an S3 bucket. */
  serverHosts?: readonly string[];
  /** Unsigned links services answer outside their APIs (SNS's certificate and subscription links). */
  publicRoutes?: readonly PublicRoute[];
  /** Counts and times every answered request (the server's `/metrics`). */
  telemetry?: Pick<Telemetry, 'request'>;
}

/** What a request turned out to be, for metrics: filled in as the pipeline learns it. */
interface RequestLabels {
  service: string;
  operation: string;
}

/** Facts about the connection a request came on. */
export interface Connection {
  sourceIp: string;
  tls?: TlsDetails;
}

type Flavor = 'json' | 'query' | 's3';

interface RoutedService {
  def: ServiceDefinition;
  codec: ProtocolCodec;
  flavor: Flavor;
  /** A service speaking several protocols (CloudWatch) picks codec and flavor per request. */
  multiProtocol: boolean;
}

function flavorOf(protocol: Protocol): Flavor {
  return protocol === 'query' ? 'query' : protocol === 'rest-xml' ? 's3' : 'json';
}

const ANONYMOUS: Principal = { type: 'Anonymous', accountId: 'anonymous' };

/** Secret-bearing members never written to a record. */
const REDACTED_MEMBERS = ['SecretAccessKey', 'Password', 'NewPassword', 'OldPassword', 'SessionToken', 'PrivateKey', 'Plaintext'];

export class RequestPipeline {
  private readonly bySigningName = new Map<string, RoutedService>();
  private readonly byTargetPrefix = new Map<string, RoutedService>();
  private readonly fallback: RoutedService;

  constructor(private readonly deps: PipelineDeps) {
    let first: RoutedService | undefined;
    for (const def of deps.services) {
      const routed: RoutedService = {
        def,
        codec: codecFor(def.model),
        flavor: flavorOf(protocolFor(def.model)),
        multiProtocol: protocolsOf(def.model).length > 1,
      };
      first ??= routed;
      this.bySigningName.set(def.signingName, routed);
      if (def.model.metadata.targetPrefix) this.byTargetPrefix.set(def.model.metadata.targetPrefix, routed);
    }
    if (!first) throw new Error('the pipeline needs at least one service');
    this.fallback = this.bySigningName.get('s3') ?? first;
  }

  /** Handles one request; never throws (every failure becomes the protocol's error response). */
  async handle(req: WireRequest, conn: Connection): Promise<WireResponse> {
    const telemetry = this.deps.telemetry;
    if (!telemetry) return this.dispatch(req, conn, { service: '', operation: '' });
    const started = performance.now();
    // Requests refused before their operation is known are counted under `-`.
    const labels: RequestLabels = { service: '-', operation: '-' };
    const response = await this.dispatch(req, conn, labels);
    telemetry.request(labels.service, labels.operation, response.status, (performance.now() - started) / 1000);
    return response;
  }

  private async dispatch(req: WireRequest, conn: Connection, labels: RequestLabels): Promise<WireResponse> {
    const requestId = this.deps.random.uuid();
    const now = this.deps.clock.now();
    if (this.deps.publicRoutes && req.headers.authorization === undefined && !req.query.has('X-Amz-Signature')) {
      const route = this.deps.publicRoutes.find((r) => r.matches(req));
      if (route) {
        labels.service = 'public';
        return route.serve(req, requestId);
      }
    }
    let routed = this.forRequest(this.routeUnsigned(req), req);
    let claim: SigV4Claim | undefined;
    try {
      claim = parseSigV4(req);
      if (claim) routed = this.forRequest(this.bySigningName.get(claim.service) ?? routed, req);
    } catch (e) {
      return this.renderError(routed, authErrorFor(routed.flavor, e), requestId);
    }
    labels.service = routed.def.signingName;
    if (!claim && routed.def.signingName !== 's3') {
      return this.renderError(routed, missingToken(routed.flavor), requestId);
    }
    if (claim && !this.bySigningName.has(claim.service)) {
      return this.renderError(routed, unknownService(claim.service), requestId);
    }

    // S3 serves unsigned requests as the anonymous principal: only a bucket policy granting `*` lets them through.
    let principal: Principal = ANONYMOUS;
    let body = req.body;
    let trailers: Record<string, string> = {};
    if (claim) {
      try {
        const key = this.deps.credentials.resolveAccessKey(claim.accessKeyId);
        if (!key || !key.active) throw unknownKey(routed.flavor);
        const verified = verifySigV4(req, claim, key.secretAccessKey, { now, flavor: routed.flavor });
        if (key.sessionToken !== undefined) {
          if (claim.sessionToken !== key.sessionToken) throw unknownKey(routed.flavor);
          if (key.expiresAt !== undefined && key.expiresAt <= now) throw expiredToken(routed.flavor);
        }
        if (verified.payloadMode.startsWith('streaming')) ({ payload: body, trailers } = decodeAwsChunked(req.body, verified));
        principal = key.principal;
        this.deps.credentials.noteAccessKeyUsed(claim.accessKeyId, { serviceName: routed.def.signingName, region: claim.region });
      } catch (e) {
        return this.renderError(routed, authErrorFor(routed.flavor, e), requestId);
      }
    }

    // Trailing checksums of aws-chunked bodies are read like the headers they stand for.
    let call: WireRequest = { ...req, body, headers: { ...req.headers, ...trailers } };
    // The signature covers the request as sent; routing needs S3's path style.
    if (routed.def.signingName === 's3') call = toPathStyle(call, this.deps.serverHosts ?? []);

    let operation: string;
    try {
      operation = routed.codec.operation(call);
    } catch (e) {
      return this.renderError(routed, e, requestId);
    }
    // Only operations the model names become label values, so no request can grow the series.
    if (Object.hasOwn(routed.def.model.operations, operation)) labels.operation = operation;
    const ctx: CallContext = {
      requestId,
      principal,
      accountId: principal.accountId,
      // An unsigned request names no Region; S3's anonymous calls are served as us-east-1's.
      region: routed.def.globalRegion ?? claim?.region ?? 'us-east-1',
      sourceIp: conn.sourceIp,
      userAgent: req.headers['user-agent'] ?? '',
      now,
      secureTransport: conn.tls !== undefined,
      ...(req.headers.host ? { endpoint: `${conn.tls ? 'https' : 'http'}://${req.headers.host}` } : {}),
    };
    return this.call(routed, operation, call, ctx, conn);
  }

  private async call(
    routed: RoutedService,
    operation: string,
    req: WireRequest,
    ctx: CallContext,
    conn: Connection,
  ): Promise<WireResponse> {
    const spec: OperationSpec | undefined = routed.def.operations[operation];
    let input: Record<string, unknown> = {};
    let resources: RecordResource[] = [];
    let response: WireResponse;
    let outcome: { output: Record<string, unknown> } | { error: AwsError };
    try {
      input = routed.codec.decodeInput(operation, req);
      validateInput(routed.def.model, operation, input);
      if (!spec) throw errors.notImplemented(operation);
      resources = spec.resources?.(input, ctx) ?? [];
      this.authorize(routed, spec, operation, input, spec.authorizationResources?.(input, ctx) ?? resources, ctx);
      const output = await spec.handle(input, ctx);
      outcome = { output };
      response = routed.codec.encodeOutput(operation, output, ctx.requestId);
    } catch (e) {
      const error = isAwsError(e) ? e : this.internal(e, operation);
      outcome = { error };
      response = routed.codec.encodeError(error, ctx.requestId);
    }

    const notes = 'output' in outcome ? recordNotes(outcome.output) : undefined;
    // An anonymous call is recorded for the account that owns what it touched.
    const recipient = ctx.principal.type === 'Anonymous' ? (resources.find((r) => r.accountId !== undefined)?.accountId ?? ctx.accountId) : ctx.accountId;
    if (notes?.resources) resources = [...resources, ...notes.resources];
    const readOnly = spec?.readOnly ?? /^(Get|List|Describe|Head|Lookup)/.test(operation);
    const eventId = this.deps.random.uuid();
    // Built once, and only when something reads it: an unselected data event never is.
    let recordText: string | undefined;
    const record = (): string =>
      (recordText ??= buildCallRecord({
        principal: ctx.principal,
        eventTime: ctx.now,
        eventSource: routed.def.eventSource,
        eventName: spec?.eventName ?? operation,
        awsRegion: ctx.region,
        sourceIPAddress: ctx.sourceIp,
        userAgent: ctx.userAgent,
        ...('error' in outcome ? { errorCode: outcome.error.code, errorMessage: outcome.error.message } : {}),
        requestParameters: spec?.recordRequest ? spec.recordRequest(input) : toRecordShape(input, { redact: REDACTED_MEMBERS }),
        responseElements:
          notes && 'responseElements' in notes
            ? notes.responseElements
            : 'output' in outcome
              ? this.responseElements(spec, readOnly, outcome.output)
              : null,
        requestID: ctx.requestId,
        eventID: eventId,
        readOnly,
        resources,
        category: spec?.category ?? 'Management',
        recipientAccountId: recipient,
        ...(conn.tls ? { tlsDetails: conn.tls } : {}),
      }));
    const fields: Omit<NewEvent, 'record'> = {
      eventId,
      eventTime: ctx.now,
      accountId: recipient,
      region: ctx.region,
      eventSource: routed.def.eventSource,
      eventName: spec?.eventName ?? operation,
      readOnly,
      category: spec?.category ?? 'Management',
      username: recordUsername(ctx.principal),
      accessKeyId: 'accessKeyId' in ctx.principal ? ctx.principal.accessKeyId : undefined,
      resources: resources.map((r) => ({ type: r.type, name: r.ARN })),
    };
    const selects = this.deps.recordsDataEvent;
    if (fields.category === 'Data' && selects) {
      const lazy: NewEvent = {
        ...fields,
        get record(): string {
          return record();
        },
      };
      if (!selects(lazy)) return response;
    }
    const event: NewEvent = { ...fields, record: record() };
    try {
      await this.deps.eventLog.append(event);
    } catch (e) {
      // An unrecorded call is never acknowledged: the caller sees a retryable failure.
      this.deps.logger.error({ err: e, requestId: ctx.requestId }, 'event log append failed');
      return routed.codec.encodeError(errors.internal(), ctx.requestId);
    }
    return response;
  }

  private responseElements(spec: OperationSpec | undefined, readOnly: boolean, output: Record<string, unknown>): unknown {
    if (spec?.recordResponse) return spec.recordResponse(output);
    if (readOnly) return null;
    return toRecordShape(output, { redact: REDACTED_MEMBERS });
  }

  private authorize(
    routed: RoutedService,
    spec: OperationSpec,
    operation: string,
    input: Record<string, unknown>,
    resources: RecordResource[],
    ctx: CallContext,
  ): void {
    if (spec.neverDenied) return;
    const action = spec.action ?? `${routed.def.actionPrefix}:${operation}`;
    const principal = authzPrincipal(ctx.principal);
    let built: Record<string, string | string[]> | undefined;
    const context = (): Record<string, string | string[]> => (built ??= { ...globalConditionContext(ctx), ...spec.conditionKeys?.(input, ctx) });
    const targets = resources.length > 0 ? resources : [{ ARN: '*', type: '' }];
    // SCPs limit every principal of a member account, its root included, whichever
    // policies (a key policy, a trust policy) the operation goes on to check itself.
    const scps = principal.kind === undefined || principal.kind === 'iam' ? this.deps.serviceControlPolicies?.(ctx.principal.accountId) : undefined;
    if (scps) {
      for (const target of targets) {
        const result = evaluateServiceControl({ principal, action, resource: target.ARN, context, serviceControlPolicies: scps });
        if (result.decision !== 'Allow') throw denied(routed.flavor, principal.arn, action, target.ARN, result);
      }
    }
    if (spec.action === null) return;
    const identityPolicies = this.deps.policies.identityPolicies(ctx.principal);
    const resourcePolicy = spec.resourcePolicy?.(input, ctx);
    for (const target of targets) {
      const result = evaluate({
        principal,
        action,
        resource: target.ARN,
        resourceAccountId: target.accountId ?? ctx.accountId,
        context,
        identityPolicies,
        ...(resourcePolicy ? { resourcePolicy } : {}),
      });
      if (result.decision !== 'Allow') throw denied(routed.flavor, principal.arn, action, target.ARN, result);
    }
  }

  private routeUnsigned(req: WireRequest): RoutedService {
    const target = req.headers['x-amz-target'];
    if (target) {
      const dot = target.lastIndexOf('.');
      const routed = this.byTargetPrefix.get(target.slice(0, dot));
      if (routed) return routed;
    }
    // Smithy RPC v2 names the service in the path: /service/<targetPrefix>/operation/<Op>.
    const rpc = /^\/service\/([^/]+)\/operation\//.exec(req.rawPath);
    const byPath = rpc ? this.byTargetPrefix.get(rpc[1] ?? '') : undefined;
    return byPath ?? this.fallback;
  }

  /** The codec and flavor this request uses, for services that speak several protocols. */
  private forRequest(routed: RoutedService, req: WireRequest): RoutedService {
    if (!routed.multiProtocol) return routed;
    return { ...routed, codec: codecFor(routed.def.model, req), flavor: flavorOf(protocolFor(routed.def.model, req)) };
  }

  private renderError(routed: RoutedService, e: unknown, requestId: string): WireResponse {
    const error = isAwsError(e) ? e : this.internal(e, 'request');
    return routed.codec.encodeError(error, requestId);
  }

  private internal(e: unknown, operation: string): AwsError {
    this.deps.logger.error({ err: e, operation }, 'operation failed');
    return errors.internal();
  }
}

/** The refusal of a call: JSON-protocol services answer 400 AccessDeniedException; Query and S3 answer 403 AccessDenied. */
function denied(flavor: Flavor, principalArn: string, action: string, resource: string, result: AuthzResult): AwsError {
  const reason = result.decision === 'Allow' ? 'no identity-based policy allows' : result.reason;
  const message = accessDeniedMessage(principalArn, action, resource, reason);
  if (flavor === 'json') return new AwsError({ code: 'AccessDeniedException', message, status: 400 });
  return new AwsError({ code: 'AccessDenied', message: flavor === 's3' ? 'Access Denied' : message, status: 403 });
}

/**
 * The signature checks speak the Query/S3 dialect; JSON-protocol services name the same
 * failures with an `Exception` suffix and answer 400.
 */
function authErrorFor(flavor: Flavor, e: unknown): unknown {
  if (flavor !== 'json' || !isAwsError(e)) return e;
  const renamed: Record<string, string> = {
    SignatureDoesNotMatch: 'InvalidSignatureException',
    IncompleteSignature: 'IncompleteSignatureException',
    InvalidArgument: 'IncompleteSignatureException',
  };
  const code = renamed[e.code];
  return code ? new AwsError({ code, message: e.message, status: 400 }) : e;
}

function missingToken(flavor: Flavor): AwsError {
  if (flavor === 's3') return errors.accessDenied('Access Denied');
  if (flavor === 'json') return new AwsError({ code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token', status: 400 });
  return errors.missingAuthenticationToken();
}

function unknownKey(flavor: Flavor): AwsError {
  if (flavor === 's3') {
    return new AwsError({ code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.', status: 403 });
  }
  return flavor === 'json' ? errors.unrecognizedClient() : errors.invalidClientTokenId();
}

function expiredToken(flavor: Flavor): AwsError {
  if (flavor === 'json') return new AwsError({ code: 'ExpiredTokenException', message: 'The security token included in the request is expired', status: 400 });
  if (flavor === 's3') return new AwsError({ code: 'ExpiredToken', message: 'The provided token has expired.', status: 400 });
  return errors.expiredToken();
}

function unknownService(signingName: string): AwsError {
  return new AwsError({
    code: 'UnknownService',
    message: `Cairn does not serve the service with signing name '${signingName}'.`,
    status: 400,
  });
}
