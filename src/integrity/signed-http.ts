/**
 * The small AWS client `cairn validate-logs` uses against an S3-compatible endpoint and
 * CloudTrail when the environment names the endpoint and gives static credentials:
 * requests signed as the AWS SDK signs them (auth/sigv4.ts, over `@smithy/signature-v4`'s
 * canonical forms), pipelined on a few kept-alive HTTP/1.1 connections whose replies are
 * read by `http-parser-js`, XML replies read by tXml into the shape the SDK's reader gives,
 * and the SDK's retry, clock-skew and error-naming behaviour.
 *
 * Validation is hundreds of small GETs from a process that lives well under a second, so
 * the client's CPU per request sets the pace: the SDK's clients (a middleware stack per
 * request), Node's `http.request` (an agent, a request and a reply stream, timers and
 * events per request) and undici each cost the validator more than the server answering it
 * (see bench/validate-logs.bench.ts), where a socket, a parser and one write per turn cost
 * a fraction of that.
 */
import { connect, type Socket } from 'node:net';
import { HTTPParser } from 'http-parser-js';
import { parse as parseTxml, type TNode } from 'txml/txml';
import { sha256Hex } from './digest.js';
import { sigV4Authorization } from '../auth/sigv4.js';
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
  /**
   * Requests sent on a connection before its first reply is in (HTTP/1.1 pipelining; 1,
   * the default, waits for each reply). Served in order by any HTTP/1.1 server, and far
   * cheaper for both ends than a connection per request in flight. A server that closes a
   * connection with requests on it, or answers in HTTP/1.0, is sent one at a time after.
   */
  pipelining?: number;
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

/** The SHA-256 of no bytes: the payload hash of a request without a body. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The query of a request without one (never changed). */
const NO_QUERY = new URLSearchParams();

/** `20261122T050000Z`, SigV4's request time; a client's requests of one second share it. */
function amzDateOf(last: { second: number; text: string }, ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== last.second) {
    const iso = new Date(second * 1000).toISOString();
    last.second = second;
    last.text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  }
  return last.text;
}

/**
 * A signed-HTTP client: each request signed with SigV4 for its service and Region and sent
 * on a kept-alive connection to the endpoint.
 *
 * @example
 * const http = signedHttp({ endpoint: 'http://127.0.0.1:4777', credentials, clock: systemClock, connections: 64, maxAttempts: 3 });
 * const reply = await http.send({ method: 'GET', path: '/bucket/key', service: 's3', region: 'us-east-1' });
 */
export function signedHttp(opts: SignedHttpOptions): SignedHttp {
  const url = new URL(opts.endpoint);
  const secure = url.protocol === 'https:';
  const pool = new ConnectionPool({
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port !== '' ? Number(url.port) : secure ? 443 : 80,
    secure,
    max: Math.max(1, opts.connections),
    depth: Math.max(1, opts.pipelining ?? 1),
  });
  const base = url.pathname.replace(/\/+$/, '');
  const { accessKeyId, secretAccessKey, sessionToken } = opts.credentials;
  let offset = 0;
  const date = { second: NaN, text: '' };

  const attempt = (req: SignedRequest): Promise<SignedReply> => {
    const path = `${base}${req.path}`;
    const query = req.query ?? {};
    const payloadHash = req.body === undefined ? EMPTY_SHA256 : sha256Hex(req.body);
    // Signed anew each time: the date moves, and so may the clock offset.
    const headers: Record<string, string> = { ...req.headers, host: url.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDateOf(date, opts.clock.now() + offset) };
    if (sessionToken !== undefined) headers['x-amz-security-token'] = sessionToken;
    let search = '';
    for (const k in query) search += `${search === '' ? '?' : '&'}${uriEncode(k)}=${uriEncode(query[k] ?? '')}`;
    headers.authorization = sigV4Authorization({
      method: req.method,
      rawPath: path,
      query: req.query === undefined ? NO_QUERY : new URLSearchParams(query),
      headers,
      payloadHash,
      service: req.service,
      region: req.region,
      accessKeyId,
      secretAccessKey,
    });
    return pool.exchange(req.method, path + search, headers, req.body);
  };

  return {
    async send(req) {
      let resent = 0;
      for (let tries = 1; ; tries++) {
        let reply: SignedReply;
        try {
          reply = await attempt(req);
        } catch (e) {
          // A request the server closed its connection under, unanswered, after answering
          // others on it (an idle connection timed out, a pipeline cut short) is no failure
          // of the request. The requests sent here change nothing, so they can go again.
          if (e instanceof Unanswered && resent < MAX_RESENDS) {
            resent++;
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
      pool.close();
    },
  };
}

/** How long a connection may stay silent while a request waits for its reply. */
const IDLE_TIMEOUT_MS = 120_000;
/** Free resends of one request whose connection closed under it unanswered. */
const MAX_RESENDS = 8;

/** Where the pool connects. */
interface Origin {
  host: string;
  port: number;
  /** TLS (node:tls, loaded only for an https endpoint). */
  secure: boolean;
  /** Connections open at once. */
  max: number;
  /** Requests in flight on one connection. */
  depth: number;
}

/** A request sent on a connection, waiting for its reply. */
interface Exchange {
  resolve: (reply: SignedReply) => void;
  reject: (error: Error) => void;
  status: number;
  headers: Record<string, string>;
  chunks: Buffer[];
  /** True once any byte of the reply arrived. */
  started: boolean;
}

/** One request to write. */
interface Outgoing {
  method: string;
  target: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * Kept-alive HTTP/1.1 connections to one origin, up to `depth` requests in flight on each.
 * A request goes to the least busy connection; a new one is opened while fewer than `max`
 * are, and the busy one has a request in flight; past that, requests wait.
 */
class ConnectionPool {
  private readonly connections: Connection[] = [];
  private readonly waiting: { out: Outgoing; resolve: (reply: SignedReply) => void; reject: (error: Error) => void }[] = [];
  private opening = 0;
  private closed = false;

  constructor(private readonly origin: Origin) {}

  exchange(method: string, target: string, headers: Record<string, string>, body: string | undefined): Promise<SignedReply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ out: { method, target, headers, body }, resolve, reject });
      this.dispatch();
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections) if (c.inFlight === 0) c.destroy();
  }

  /** Sends waiting requests while a connection has room, opening connections as allowed. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best: Connection | undefined;
      for (const c of this.connections) if (c.usable && (!best || c.inFlight < best.inFlight)) best = c;
      const open = this.connections.length + this.opening;
      if ((!best || best.inFlight > 0) && open < this.origin.max) {
        try {
          this.connect();
        } catch (e) {
          // A connection that cannot even be attempted (a port out of range).
          this.failWaiting(e);
          return;
        }
        continue;
      }
      if (!best || best.inFlight >= this.origin.depth) return;
      const next = this.waiting.shift();
      if (next) best.send(next.out, next.resolve, next.reject);
    }
  }

  /** Fails every request waiting for a connection: none is left hanging. */
  private failWaiting(e: unknown): void {
    for (const w of this.waiting.splice(0)) w.reject(e instanceof Error ? e : new Error(String(e)));
  }

  private connect(): void {
    if (this.origin.secure) {
      this.opening++;
      import('node:tls').then(
        (tls) => {
          this.opening--;
          const { host, port } = this.origin;
          const socket = tls.connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'] });
          const connection = this.adopt(socket);
          socket.on('data', (data: Buffer) => connection.received(data, false));
          this.dispatch();
        },
        (e: unknown) => {
          this.opening--;
          this.failWaiting(e);
        },
      );
      return;
    }
    // Read into one buffer shared by every connection, without a stream's per-read work;
    // what a reply keeps of it is copied out before the next read.
    const socket = connect({
      host: this.origin.host,
      port: this.origin.port,
      onread: {
        buffer: readBuffer,
        callback: (n) => {
          // Reads start after connect() returns, so `connection` is set by then.
          connection.received(readBuffer.subarray(0, n), true);
          return true;
        },
      },
    });
    const connection = this.adopt(socket);
  }

  private adopt(socket: Socket): Connection {
    socket.setNoDelay(true);
    const connection = new Connection(socket, {
      free: (c) => {
        if (this.closed && c.inFlight === 0) c.destroy();
        else this.dispatch();
      },
      gone: (c, keepsPipelines) => {
        const at = this.connections.indexOf(c);
        if (at >= 0) this.connections.splice(at, 1);
        // A server that drops pipelined requests, or cannot keep connections, gets one at a time.
        if (!keepsPipelines) this.origin.depth = 1;
        if (!this.closed) this.dispatch();
      },
    });
    this.connections.push(connection);
    return connection;
  }
}

/** What every plain connection reads into (see ConnectionPool.connect). */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

/** One kept-alive connection: writes requests, and parses their replies in order. */
class Connection {
  private readonly parser = new HTTPParser(HTTPParser.RESPONSE);
  private readonly inflight: Exchange[] = [];
  private keepAlive = true;
  private gone = false;
  /** Requests written this turn, not yet handed to the socket. */
  private outgoing = '';
  /** Replies completed on this connection. */
  private answered = 0;
  /** True while the bytes being parsed sit in the shared read buffer. */
  private shared = false;

  constructor(
    private readonly socket: Socket,
    private readonly pool: { free: (c: Connection) => void; gone: (c: Connection, keepsPipelines: boolean) => void },
  ) {
    const parser = this.parser;
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const x = this.inflight[0];
      if (!x) return;
      x.status = info.statusCode;
      const raw = info.headers;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = (raw[i] ?? '').toLowerCase();
        const value = raw[i + 1] ?? '';
        const had = x.headers[name];
        x.headers[name] = had === undefined ? value : `${had}, ${value}`;
      }
      this.keepAlive = info.shouldKeepAlive;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const part = chunk.subarray(offset, offset + length);
      this.inflight[0]?.chunks.push(this.shared ? Buffer.from(part) : part);
    };
    parser[HTTPParser.kOnMessageComplete] = () => this.complete();
    socket.setTimeout(IDLE_TIMEOUT_MS, () => {
      // An idle connection times out quietly; a request's is a failure.
      this.fail(new Error(`no reply from ${socket.remoteAddress ?? 'the endpoint'} in ${IDLE_TIMEOUT_MS / 1000} s`));
    });
    socket.on('end', () => {
      // A reply without a length ends with the connection.
      if (this.inflight.length > 0) parser.finish();
      this.fail(new Error('the server closed the connection'));
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('the connection closed')));
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.inflight.length;
  }

  /** True while the connection takes requests. */
  get usable(): boolean {
    return !this.gone && this.keepAlive;
  }

  /** Bytes read; `shared` when they sit in a buffer the next read reuses. */
  received(data: Buffer, shared: boolean): void {
    const x = this.inflight[0];
    if (x) x.started = true;
    this.shared = shared;
    const parsed = this.parser.execute(data);
    if (parsed instanceof Error) this.fail(new Error(`unreadable HTTP reply: ${parsed.message}`));
  }

  send(out: Outgoing, resolve: (reply: SignedReply) => void, reject: (error: Error) => void): void {
    // Header names come from the server: no prototype for one named `__proto__` to reach.
    this.inflight.push({ resolve, reject, status: 0, headers: Object.create(null) as Record<string, string>, chunks: [], started: false });
    if (this.inflight.length === 1) this.socket.ref();
    let head = `${out.method} ${out.target} HTTP/1.1\r\n`;
    for (const name in out.headers) head += `${name}: ${out.headers[name] ?? ''}\r\n`;
    if (out.body !== undefined) head += `content-length: ${Buffer.byteLength(out.body)}\r\n`;
    // The requests of one turn leave in one write.
    if (this.outgoing === '') process.nextTick(() => this.flush());
    this.outgoing += `${head}\r\n${out.body ?? ''}`;
  }

  private flush(): void {
    const text = this.outgoing;
    this.outgoing = '';
    if (!this.gone) this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private complete(): void {
    const first = this.inflight[0];
    if (!first) return;
    if (first.status >= 100 && first.status < 200) {
      // An interim reply (100 Continue, 103 Early Hints): the real one follows.
      first.status = 0;
      first.headers = Object.create(null) as Record<string, string>;
      first.chunks = [];
      return;
    }
    const x = this.inflight.shift();
    if (!x) return;
    this.answered++;
    const { chunks } = x;
    x.resolve({ status: x.status, headers: x.headers, body: chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks) });
    if (!this.keepAlive) {
      this.fail(new Error('the server closed the connection'));
      return;
    }
    // An idle connection keeps no process alive.
    if (this.inflight.length === 0) this.socket.unref();
    this.pool.free(this);
  }

  /** Ends the connection, failing the requests on it. */
  private fail(error: Error): void {
    if (this.gone) return;
    this.gone = true;
    const lost = this.inflight.splice(0);
    // The first may have had part of its reply: that one failed. The others were never
    // answered; after earlier replies on this connection they can simply go again.
    for (const [i, x] of lost.entries()) x.reject(!x.started && (this.answered > 0 || i > 0) ? new Unanswered(error) : error);
    this.socket.destroy();
    this.pool.gone(this, lost.length <= 1 && this.keepAlive);
  }
}

/** A request whose connection closed before any of its reply, after the server answered others. */
class Unanswered extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

function backoff(attempt: number): number {
  return Math.min(20_000, 100 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- XML ----

/** An XML element as tXml reads it: its name, attributes, and children (text or elements). */
export type XmlElement = TNode;

/**
 * Reads an XML reply with tXml (the fastest XML reader measured on a 600-key S3 listing:
 * a third of the instructions of the SDK's own, which builds its strings a character at a
 * time): the root element, text kept as sent (no trimming: S3 keys may start or end with
 * spaces), entity and character references decoded (S3 writes control characters in keys
 * as `&#13;` and the like).
 */
export function parseXml(text: string): XmlElement | undefined {
  return parseTxml(text, { keepWhitespace: true, decodeEntities: true, skipXmlDeclaration: true, selfClosingTags: [] }).find(
    (node): node is TNode => typeof node !== 'string',
  );
}

/** The child elements named `name`, in document order. */
export function xmlChildren(element: XmlElement | undefined, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  if (element) for (const child of element.children) if (typeof child !== 'string' && child.tagName === name) out.push(child);
  return out;
}

/** The first child element named `name`. */
export function xmlChild(element: XmlElement | undefined, name: string): XmlElement | undefined {
  if (element) for (const child of element.children) if (typeof child !== 'string' && child.tagName === name) return child;
  return undefined;
}

/**
 * An element's text, as the SDK's reader gives it: undefined when the element is missing
 * or has child elements, and empty when it holds only whitespace across lines.
 */
export function xmlText(element: XmlElement | undefined): string | undefined {
  if (!element) return undefined;
  let text = '';
  for (const child of element.children) {
    if (typeof child !== 'string') return undefined;
    text += child;
  }
  return text.trim() === '' && text.includes('\n') ? '' : text;
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
      const root = parseXml(text);
      // S3's <Error> is the root; the Query protocol's is inside <ErrorResponse>.
      const error = root?.tagName === 'Error' ? root : xmlChild(root, 'Error');
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
