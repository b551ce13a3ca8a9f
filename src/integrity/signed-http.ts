/**
 * The small AWS client `cairn validate-logs` uses against an S3-compatible endpoint and
 * CloudTrail when the environment names the endpoint and gives static credentials:
 * requests signed by the AWS SDK's own SigV4 signer (`@smithy/signature-v4`), sent over
 * undici's pool of keep-alive connections, XML replies read with fast-xml-parser, and the
 * SDK's retry, clock-skew and error-naming behaviour. Validation is hundreds of small
 * GETs; the SDK's clients (a middleware stack per request over Node's HTTP client) cost
 * more CPU per GET than the server answering it (see bench/validate-logs.bench.ts).
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { Pool, errors, type Dispatcher } from 'undici';
import type { Clock } from '../platform/clock.js';

/** Static credentials, as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN give them. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** One request to sign and send; `path` is already percent-encoded. */
export interface SignedRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  service: string;
  region: string;
}

/** A reply: status, headers (lower-case names; repeated ones joined with `, `) and the whole body. */
export interface SignedReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A failed AWS call: `name` is the error code the service returned, as the SDK names it. */
export class AwsCallError extends Error {
  constructor(
    readonly name: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** SigV4-signed requests to one endpoint over a pool of keep-alive connections. */
export interface SignedHttp {
  /** Sends the request, retrying network failures, throttling and 5xx replies; resolves with any other reply. */
  send(req: SignedRequest): Promise<SignedReply>;
  /** Closes the pooled connections. */
  close(): void;
}

/** What a signed-HTTP client needs. */
export interface SignedHttpOptions {
  /** `http(s)://host[:port][/base]`, as AWS_ENDPOINT_URL gives it. */
  endpoint: string;
  credentials: StaticCredentials;
  clock: Clock;
  /** Connections kept open at once. */
  connections: number;
  /** Tries per request, the first included (AWS_MAX_ATTEMPTS; the SDK's 3 by default). */
  maxAttempts: number;
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled']);
const SKEW_CODES = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture', 'InvalidSignatureException', 'SignatureDoesNotMatch']);
/** A server clock this far from ours is believed, as the SDK's clock skew correction does. */
const SKEW_THRESHOLD_MS = 4 * 60_000;

/** RFC 3986 percent-encoding, as SigV4 and S3 keys in paths want it. */
export function uriEncode(text: string): string {
  // Most keys need nothing encoded; testing is cheaper than encoding.
  if (/^[A-Za-z0-9._~-]*$/.test(text)) return text;
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A signed-HTTP client: each request signed by a {@link SignatureV4} (one per service and
 * Region) and sent through an undici {@link Pool} for the endpoint's origin.
 *
 * @example
 * const http = signedHttp({ endpoint: 'http://127.0.0.1:4777', credentials, clock: systemClock, connections: 64, maxAttempts: 3 });
 * const reply = await http.send({ method: 'GET', path: '/bucket/key', service: 's3', region: 'us-east-1' });
 */
export function signedHttp(opts: SignedHttpOptions): SignedHttp {
  const url = new URL(opts.endpoint);
  const pool = new Pool(url.origin, { connections: opts.connections });
  const base = url.pathname.replace(/\/+$/, '');
  const signers = new Map<string, SignatureV4>();
  const signer = (service: string, region: string): SignatureV4 => {
    const id = `${service} ${region}`;
    let s = signers.get(id);
    if (!s) {
      // S3 signs the path as sent; other services sign it encoded once more.
      s = new SignatureV4({ service, region, credentials: opts.credentials, sha256: Hash.bind(null, 'sha256'), uriEscapePath: service !== 's3' });
      signers.set(id, s);
    }
    return s;
  };
  let offset = 0;
  // Replies begun, and kept-alive connections found dropped: a connection is dropped at most
  // once and only after it has answered, so resending such requests for free never loops.
  let replies = 0;
  let drops = 0;

  const attempt = async (req: SignedRequest): Promise<SignedReply> => {
    const path = `${base}${req.path}`;
    const query = req.query ?? {};
    const signed = await signer(req.service, req.region).sign(
      { method: req.method, protocol: url.protocol, hostname: url.hostname, path, query, headers: { ...req.headers, host: url.host }, body: req.body },
      { signingDate: new Date(opts.clock.now() + offset) },
    );
    const search = Object.entries(query)
      .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
      .join('&');
    return exchange(pool, { method: req.method, path: search !== '' ? `${path}?${search}` : path, headers: signed.headers, body: req.body ?? null }, () => replies++);
  };

  return {
    async send(req) {
      for (let tries = 1; ; tries++) {
        let reply: SignedReply;
        try {
          // Signed anew each time: the date moves, and so may the clock offset.
          reply = await attempt(req);
        } catch (e) {
          // A kept-alive connection the server closed as the request went out is no
          // failure of the request.
          if (e instanceof IdleConnectionLost && drops < replies) {
            drops++;
            tries--;
          } else if (tries >= opts.maxAttempts) throw e;
          else await sleep(backoff(tries));
          continue;
        }
        const serverTime = Date.parse(reply.headers.date ?? '');
        const skew = Number.isNaN(serverTime) ? 0 : serverTime - opts.clock.now();
        const before = offset;
        offset = Math.abs(skew) >= SKEW_THRESHOLD_MS ? skew : 0;
        if (reply.status < 300 || tries >= opts.maxAttempts) return reply;
        const code = errorOf(reply).name;
        if (RETRY_STATUS.has(reply.status) || RETRY_CODES.has(code)) await sleep(backoff(tries));
        // A request refused for its time is sent again once the clock is corrected.
        else if (!(offset !== before && SKEW_CODES.has(code))) return reply;
      }
    },
    close() {
      pool.destroy().catch(() => undefined);
    },
  };
}

/**
 * One request through the pool, its reply collected whole. undici's `dispatch` rather than
 * its `request`: the body arrives as chunks to keep, with no stream around them, which
 * saves about a quarter of the client's CPU per request here.
 */
function exchange(pool: Pool, options: Dispatcher.DispatchOptions, onReply: () => void): Promise<SignedReply> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let started = false;
    pool.dispatch(options, {
      // undici knows a handler of its current interface by this method.
      onRequestStart() {},
      onResponseStart(_controller, statusCode, raw) {
        started = true;
        onReply();
        status = statusCode;
        for (const [name, value] of Object.entries(raw)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ status, headers, body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks) });
      },
      onResponseError(_controller, error) {
        reject(!started && closedWhileIdle(error) ? new IdleConnectionLost(error) : error);
      },
    });
  });
}

/** A kept-alive connection the server closed under a request, before any reply to it. */
class IdleConnectionLost extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/**
 * True when the connection closed (undici's SocketError) after carrying earlier replies
 * (bytes read): the server dropped a kept-alive connection, as an idle timeout racing the
 * request does.
 */
function closedWhileIdle(e: Error): boolean {
  return e instanceof errors.SocketError && (e.socket?.bytesRead ?? 0) > 0;
}

function backoff(attempt: number): number {
  return Math.min(20_000, 100 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- XML ----

/**
 * Parses an XML reply: element text kept as sent (no number or boolean conversion, no
 * trimming: S3 keys may start or end with spaces), attributes dropped, character
 * references decoded (S3 writes control characters in keys as `&#13;` and the like).
 */
export function parseXml(text: string): Record<string, unknown> {
  const parser = new XMLParser({ parseTagValue: false, trimValues: false, htmlEntities: true });
  const doc = parser.parse(text) as unknown;
  return isRecord(doc) ? doc : {};
}

/** The element's child elements (an element holding only text has none). */
export function xmlChild(node: unknown, name: string): unknown {
  return isRecord(node) ? node[name] : undefined;
}

/** The element's text, or undefined when it is missing or has child elements. */
export function xmlText(node: unknown): string | undefined {
  return typeof node === 'string' ? node : undefined;
}

/** A repeated element as a list (the parser gives one occurrence as itself, none as undefined). */
export function xmlList(node: unknown): unknown[] {
  return Array.isArray(node) ? (node as unknown[]) : node === undefined ? [] : [node];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- errors ----

/**
 * The error a failed reply carries, named and worded as the SDK reports it: the XML
 * protocols' `<Error>` (S3's at the root, Query's inside `<ErrorResponse>`), the JSON
 * protocols' `__type`/`message`, else the HTTP status.
 */
export function errorOf(reply: SignedReply): AwsCallError {
  const text = reply.body.toString('utf8');
  let code: string | undefined;
  let message: string | undefined;
  if (text.trimStart().startsWith('<')) {
    try {
      const doc = parseXml(text);
      const error = xmlChild(doc, 'Error') ?? xmlChild(xmlChild(doc, 'ErrorResponse'), 'Error');
      code = xmlText(xmlChild(error, 'Code'));
      message = xmlText(xmlChild(error, 'Message'));
    } catch {
      // Not XML after all: the status says what there is to say.
    }
  } else if (text.trim() !== '') {
    try {
      const doc = JSON.parse(text) as { __type?: unknown; code?: unknown; message?: unknown; Message?: unknown };
      const type = typeof doc.__type === 'string' ? doc.__type : typeof doc.code === 'string' ? doc.code : undefined;
      code = type?.split('#').at(-1)?.split(':')[0];
      message = typeof doc.message === 'string' ? doc.message : typeof doc.Message === 'string' ? doc.Message : undefined;
    } catch {
      // Not JSON: the status says what there is to say.
    }
  }
  code ??= reply.headers['x-amzn-errortype']?.split(':')[0];
  code ??= reply.status === 404 ? 'NotFound' : 'UnknownError';
  return new AwsCallError(code, message ?? code, reply.status);
}
