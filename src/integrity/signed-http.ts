/**
 * The small AWS client `cairn validate-logs` uses against an S3-compatible endpoint and
 * CloudTrail when the environment names the endpoint and gives static credentials:
 * requests signed by the AWS SDK's own SigV4 signer (`@smithy/signature-v4`), sent over
 * Node's own HTTP client on keep-alive connections, XML replies read by the SDK's own XML
 * reader (`@aws-sdk/xml-builder`), and the SDK's retry, clock-skew and error-naming
 * behaviour. Validation is hundreds of small GETs; the SDK's clients (a middleware stack
 * per request) cost more CPU per GET than the server answering it (see
 * bench/validate-logs.bench.ts), and undici takes longer to load than node:http takes
 * for all of them.
 */
import { Agent, request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { parseXML } from '@aws-sdk/xml-builder';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
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

/** Sends one request; Node's `request` of `node:http` or `node:https`. */
type Requester = (options: RequestOptions, onResponse: (res: IncomingMessage) => void) => ClientRequest;

/**
 * A signed-HTTP client: each request signed by a {@link SignatureV4} (one per service and
 * Region) and sent over a keep-alive {@link Agent} for the endpoint's origin.
 *
 * @example
 * const http = signedHttp({ endpoint: 'http://127.0.0.1:4777', credentials, clock: systemClock, connections: 64, maxAttempts: 3 });
 * const reply = await http.send({ method: 'GET', path: '/bucket/key', service: 's3', region: 'us-east-1' });
 */
export function signedHttp(opts: SignedHttpOptions): SignedHttp {
  const url = new URL(opts.endpoint);
  const agentOptions = { keepAlive: true, maxSockets: opts.connections };
  // node:https (and TLS with it) is loaded only for an https endpoint.
  const transport: Promise<{ agent: Agent; send: Requester }> =
    url.protocol === 'https:'
      ? import('node:https').then((https) => ({ agent: new https.Agent(agentOptions), send: https.request }))
      : Promise.resolve({ agent: new Agent(agentOptions), send: request });
  transport.catch(() => undefined);
  const port = url.port !== '' ? Number(url.port) : undefined;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
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
    let search = '';
    for (const k in query) search += `${search === '' ? '?' : '&'}${uriEncode(k)}=${uriEncode(query[k] ?? '')}`;
    const { agent, send } = await transport;
    // Given as a list, the headers go out as they are, without Node checking each again.
    const headers: string[] = [];
    for (const name in signed.headers) headers.push(name, signed.headers[name] ?? '');
    const options: RequestOptions = { agent, hostname, method: req.method, path: path + search, headers, timeout: IDLE_TIMEOUT_MS };
    if (port !== undefined) options.port = port;
    return exchange(send, options, req.body, () => replies++);
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
      transport.then(({ agent }) => agent.destroy(), () => undefined);
    },
  };
}

/** How long a connection may stay silent while a request waits for its reply. */
const IDLE_TIMEOUT_MS = 120_000;

/** One request, its reply collected whole. */
function exchange(send: Requester, options: RequestOptions, body: string | undefined, onReply: () => void): Promise<SignedReply> {
  return new Promise((resolve, reject) => {
    let started = false;
    const req = send(options, (res) => {
      started = true;
      onReply();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        const raw = res.headers;
        for (const name in raw) {
          const value = raw[name];
          if (value !== undefined) headers[name] = typeof value === 'string' ? value : value.join(', ');
        }
        resolve({ status: res.statusCode ?? 0, headers, body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    // A server that stops answering fails the request (and so the run) instead of hanging it.
    req.on('timeout', () => req.destroy(new Error(`no reply from ${options.hostname ?? 'the endpoint'} in ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(!started && closedWhileIdle(req, error) ? new IdleConnectionLost(error) : error);
    });
    req.end(body);
  });
}

/** A kept-alive connection the server closed under a request, before any reply to it. */
class IdleConnectionLost extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/**
 * True when the connection was reset after carrying earlier replies (bytes read): the
 * server dropped a kept-alive connection, as an idle timeout racing the request does.
 * (`req.reusedSocket` would say so only for a request that found the socket idle, not for
 * one queued for it.)
 */
function closedWhileIdle(req: ClientRequest, e: NodeJS.ErrnoException): boolean {
  return (e.code === 'ECONNRESET' || e.code === 'EPIPE') && (req.socket?.bytesRead ?? 0) > 0;
}

function backoff(attempt: number): number {
  return Math.min(20_000, 100 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- XML ----

/**
 * Parses an XML reply with the AWS SDK's own XML reader (what its clients read S3's replies
 * with): element text kept as sent (no number or boolean conversion, no trimming: S3 keys
 * may start or end with spaces), attributes as fields beside the child elements,
 * character references decoded (S3 writes control characters in keys as `&#13;` and the
 * like).
 */
export function parseXml(text: string): Record<string, unknown> {
  const doc = parseXML(text) as unknown;
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
