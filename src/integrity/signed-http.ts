/**
 * The small AWS client `cairn validate-logs` uses against an S3-compatible endpoint and
 * CloudTrail when the environment names the endpoint and gives static credentials: SigV4
 * signing (AWS's documented algorithm, over node:crypto) and a pool of keep-alive
 * HTTP/1.1 connections, with the SDK's retry, clock-skew and error-naming behaviour.
 * Validation is hundreds of small GETs; the SDK's middleware stack and Node's HTTP client
 * cost more CPU per GET than the server answering it (see bench/validate-logs.bench.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
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
  maxSockets: number;
  /** Tries per request, the first included (AWS_MAX_ATTEMPTS; the SDK's 3 by default). */
  maxAttempts: number;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
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

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** `20150830T123600Z`. */
function amzDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/**
 * A signed-HTTP client: SigV4 computed here (canonical request, string to sign, derived
 * key: two hashes and an HMAC a request), sent over {@link Http1Pool}.
 *
 * @example
 * const http = signedHttp({ endpoint: 'http://127.0.0.1:4777', credentials, clock: systemClock, maxSockets: 64, maxAttempts: 3 });
 * const reply = await http.send({ method: 'GET', path: '/bucket/key', service: 's3', region: 'us-east-1' });
 */
export function signedHttp(opts: SignedHttpOptions): SignedHttp {
  const url = new URL(opts.endpoint);
  const pool = new Http1Pool(url, opts.maxSockets);
  const base = url.pathname.replace(/\/+$/, '');
  const { accessKeyId, secretAccessKey, sessionToken } = opts.credentials;
  const keys = new Map<string, Buffer>();
  let offset = 0;
  // Hundreds of requests go out each second: the date is formatted once a second.
  let second = NaN;
  let date = '';
  const now = (): string => {
    const s = Math.floor((opts.clock.now() + offset) / 1000);
    if (s !== second) {
      second = s;
      date = amzDate(s * 1000);
    }
    return date;
  };

  const signingKey = (day: string, region: string, service: string): Buffer => {
    const id = `${day}/${region}/${service}`;
    let key = keys.get(id);
    if (!key) {
      key = createHmac('sha256', `AWS4${secretAccessKey}`).update(day).digest();
      for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
      keys.set(id, key);
    }
    return key;
  };

  /** The request's head (request line and headers), signed. */
  const sign = (req: SignedRequest): string => {
    const date = now();
    const day = date.slice(0, 8);
    const body = req.body ?? '';
    const payload = body === '' ? EMPTY_SHA256 : sha256Hex(body);
    const headers: Record<string, string> = { host: url.host, 'x-amz-date': date };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    if (req.service === 's3') headers['x-amz-content-sha256'] = payload;
    if (sessionToken !== undefined) headers['x-amz-security-token'] = sessionToken;
    const names = Object.keys(headers).sort();
    const query = Object.entries(req.query ?? {})
      .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
      .sort()
      .join('&');
    const path = `${base}${req.path}`;
    // S3 signs the path as sent; other services sign it encoded once more.
    const canonicalPath = req.service === 's3' ? path : path.split('/').map(uriEncode).join('/');
    const canonical = `${req.method}\n${canonicalPath}\n${query}\n${names.map((n) => `${n}:${(headers[n] ?? '').trim()}\n`).join('')}\n${names.join(';')}\n${payload}`;
    const scope = `${day}/${req.region}/${req.service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac('sha256', signingKey(day, req.region, req.service)).update(toSign, 'utf8').digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    if (body !== '') headers['content-length'] = String(Buffer.byteLength(body));
    let head = `${req.method} ${query !== '' ? `${path}?${query}` : path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      // Values come from the environment: a line break would split the request.
      if (/[\r\n]/.test(value)) throw new Error(`the ${name} header would hold a line break`);
      head += `${name}: ${value}\r\n`;
    }
    return `${head}\r\n`;
  };

  return {
    async send(req) {
      for (let attempt = 1; ; attempt++) {
        // Signed anew each time: the date moves, and so may the clock offset.
        const head = sign(req);
        let reply: SignedReply;
        try {
          reply = await pool.request(head, req.body);
        } catch (e) {
          if (attempt >= opts.maxAttempts) throw e;
          await sleep(backoff(attempt));
          continue;
        }
        const serverTime = Date.parse(reply.headers.date ?? '');
        const skew = Number.isNaN(serverTime) ? 0 : serverTime - opts.clock.now();
        const before = offset;
        offset = Math.abs(skew) >= SKEW_THRESHOLD_MS ? skew : 0;
        if (reply.status < 300 || attempt >= opts.maxAttempts) return reply;
        const code = errorOf(reply).name;
        if (RETRY_STATUS.has(reply.status) || RETRY_CODES.has(code)) await sleep(backoff(attempt));
        // A request refused for its time is sent again once the clock is corrected.
        else if (!(offset !== before && SKEW_CODES.has(code))) return reply;
      }
    },
    close() {
      pool.close();
    },
  };
}

function backoff(attempt: number): number {
  return Math.min(20_000, 100 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- HTTP/1.1 ----

/** A connection lost under a request; `stale` when it was a reused one that never answered. */
class ConnectionLost extends Error {
  constructor(
    message: string,
    readonly stale: boolean,
  ) {
    super(message);
  }
}

type Framing = { kind: 'head' } | { kind: 'fixed'; left: number } | { kind: 'chunk-size' } | { kind: 'chunk-data'; left: number } | { kind: 'chunk-end' } | { kind: 'trailers' } | { kind: 'until-close' };

interface InFlight {
  resolve(reply: SignedReply): void;
  reject(error: Error): void;
  framing: Framing;
  status: number;
  headers: Record<string, string>;
  keepAlive: boolean;
  chunks: Buffer[];
  answered: boolean;
}

/** Heads larger than this are not HTTP replies we want. */
const MAX_HEAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** One keep-alive connection: a request at a time, the reply read as it arrives. */
class Connection {
  readonly socket: Socket;
  /** True once a reply came back whole on it: a later failure may be the server closing it while idle. */
  private reused = false;
  private pending: Buffer = EMPTY;
  private current: InFlight | undefined;
  private failure: Error | undefined;

  constructor(
    url: URL,
    private readonly done: (conn: Connection, reusable: boolean) => void,
  ) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    this.socket = secure
      ? tlsConnect({ host, port, ALPNProtocols: ['http/1.1'], ...(isIP(host) === 0 ? { servername: host } : {}) })
      : netConnect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (e) => (this.failure = e));
    this.socket.on('close', () => this.closed());
  }

  send(head: string, body: string | undefined): Promise<SignedReply> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new ConnectionLost('the connection closed', this.reused));
        return;
      }
      this.current = { resolve, reject, framing: { kind: 'head' }, status: 0, headers: {}, keepAlive: true, chunks: [], answered: false };
      this.socket.ref();
      this.socket.write(body !== undefined && body !== '' ? head + body : head);
    });
  }

  private read(chunk: Buffer): void {
    const r = this.current;
    if (!r) {
      // Nothing was asked: a server talking out of turn is not one to reuse.
      this.socket.destroy();
      return;
    }
    r.answered = true;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.parse(r);
    } catch (e) {
      this.current = undefined;
      r.reject(e instanceof Error ? e : new Error(String(e)));
      this.socket.destroy();
    }
  }

  private parse(r: InFlight): void {
    for (;;) {
      const f = r.framing;
      if (f.kind === 'head') {
        const end = this.pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.pending.length > MAX_HEAD) throw new Error('the reply head is too large');
          return;
        }
        const lines = this.pending.toString('latin1', 0, end).split('\r\n');
        this.pending = this.pending.subarray(end + 4);
        const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
        if (!status) throw new Error(`not an HTTP reply: ${(lines[0] ?? '').slice(0, 80)}`);
        const code = Number(status[2]);
        // 100 Continue and the like come before the real reply.
        if (code < 200) continue;
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
        }
        r.status = code;
        r.headers = headers;
        const connection = (headers.connection ?? '').toLowerCase();
        r.keepAlive = status[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
        const length = headers['content-length'];
        if (code === 204 || code === 304) this.finish(r);
        else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) r.framing = { kind: 'chunk-size' };
        else if (length !== undefined) {
          if (!/^\d+$/.test(length)) throw new Error(`bad content-length: ${length}`);
          r.framing = { kind: 'fixed', left: Number(length) };
          if (Number(length) === 0) this.finish(r);
        } else {
          r.keepAlive = false;
          r.framing = { kind: 'until-close' };
        }
        if (this.current !== r) return;
      } else if (f.kind === 'fixed' || f.kind === 'chunk-data') {
        const take = Math.min(f.left, this.pending.length);
        if (take > 0) r.chunks.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        f.left -= take;
        if (f.left > 0) return;
        if (f.kind === 'chunk-data') r.framing = { kind: 'chunk-end' };
        else return this.finish(r);
      } else if (f.kind === 'chunk-size' || f.kind === 'trailers') {
        const end = this.pending.indexOf('\r\n');
        if (end < 0) {
          if (this.pending.length > MAX_HEAD) throw new Error('a chunk header is too large');
          return;
        }
        const line = this.pending.toString('latin1', 0, end);
        this.pending = this.pending.subarray(end + 2);
        if (f.kind === 'trailers') {
          if (line === '') return this.finish(r);
          continue;
        }
        const size = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line);
        if (!size?.[1]) throw new Error(`bad chunk size: ${line.slice(0, 40)}`);
        const n = parseInt(size[1], 16);
        r.framing = n === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: n };
      } else if (f.kind === 'chunk-end') {
        if (this.pending.length < 2) return;
        if (this.pending[0] !== 13 || this.pending[1] !== 10) throw new Error('a chunk does not end with CRLF');
        this.pending = this.pending.subarray(2);
        r.framing = { kind: 'chunk-size' };
      } else {
        r.chunks.push(this.pending);
        this.pending = EMPTY;
        return;
      }
    }
  }

  private finish(r: InFlight): void {
    this.current = undefined;
    r.resolve({ status: r.status, headers: r.headers, body: r.chunks.length === 1 && r.chunks[0] ? r.chunks[0] : Buffer.concat(r.chunks) });
    // Bytes past the reply would be one nobody asked for.
    const reusable = r.keepAlive && this.pending.length === 0;
    if (reusable) {
      this.reused = true;
      this.socket.unref();
    } else this.socket.destroy();
    this.done(this, reusable);
  }

  private closed(): void {
    const r = this.current;
    this.current = undefined;
    if (r) {
      if (r.framing.kind === 'until-close') {
        r.resolve({ status: r.status, headers: r.headers, body: Buffer.concat(r.chunks) });
      } else {
        const why = this.failure?.message ?? 'the connection closed before the reply was complete';
        r.reject(new ConnectionLost(why, this.reused && !r.answered));
      }
    }
    this.done(this, false);
  }
}

/**
 * Keep-alive HTTP/1.1 connections to one host, at most `max` at once; requests beyond
 * wait their turn. Idle connections do not keep the process alive.
 */
class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly live = new Set<Connection>();
  private readonly waiting: ((conn: Connection) => void)[] = [];
  private closing = false;

  constructor(
    private readonly url: URL,
    private readonly max: number,
  ) {}

  async request(head: string, body: string | undefined): Promise<SignedReply> {
    for (;;) {
      const conn = await this.acquire();
      try {
        return await conn.send(head, body);
      } catch (e) {
        // A kept-alive connection the server had just closed: the request never reached it.
        if (e instanceof ConnectionLost && e.stale && !this.closing) continue;
        throw e;
      }
    }
  }

  close(): void {
    this.closing = true;
    for (const conn of this.live) conn.socket.destroy();
  }

  private acquire(): Promise<Connection> {
    if (this.closing) return Promise.reject(new Error('the connection pool is closed'));
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) if (!idle.socket.destroyed) return Promise.resolve(idle);
    if (this.live.size < this.max) return Promise.resolve(this.open());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private open(): Connection {
    const conn = new Connection(this.url, (c, reusable) => this.released(c, reusable));
    this.live.add(conn);
    return conn;
  }

  private released(conn: Connection, reusable: boolean): void {
    if (!reusable) {
      if (!this.live.delete(conn)) return;
      const idleAt = this.idle.indexOf(conn);
      if (idleAt >= 0) this.idle.splice(idleAt, 1);
      const next = this.closing ? undefined : this.waiting.shift();
      if (next) next(this.open());
      return;
    }
    const next = this.waiting.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }
}

// ---- errors ----

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (XML_ENTITIES[e] ?? ''),
  );
}

/** The text of the first `<name>` element of a flat XML document, entities decoded. */
export function xmlElement(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1] !== undefined ? xmlText(m[1]) : undefined;
}

/**
 * The error a failed reply carries, named and worded as the SDK reports it: S3's XML
 * `<Code>`/`<Message>`, the JSON protocols' `__type`/`message`, else the HTTP status.
 */
export function errorOf(reply: SignedReply): AwsCallError {
  const text = reply.body.toString('utf8');
  let code: string | undefined;
  let message: string | undefined;
  if (text.trimStart().startsWith('<')) {
    code = xmlElement(text, 'Code');
    message = xmlElement(text, 'Message');
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
