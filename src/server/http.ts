/**
 * The HTTP(S) listener: turns Node's requests into {@link WireRequest}s (refusing
 * oversized bodies before buffering them), hands them to the pipeline, writes the
 * answers, and tracks requests in flight so shutdown can wait for them.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { AwsError, errors } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { WireRequest, WireResponse } from '../wire/protocol.js';
import type { Connection } from './pipeline.js';

export interface HttpHandler {
  handle(req: WireRequest, conn: Connection): Promise<WireResponse>;
}

export interface ListenerOptions {
  handler: HttpHandler;
  maxBodyBytes: number;
  logger: Logger;
  tls?: { cert: Buffer; key: Buffer };
}

export interface Listener {
  server: Server;
  /** Resolves with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting connections and resolves when every request in flight has been answered. */
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function toWireRequest(req: IncomingMessage, body: Buffer): WireRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return {
    method: req.method ?? 'GET',
    rawPath: q === -1 ? url : url.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
    headers,
    body,
  };
}

function connectionOf(req: IncomingMessage): Connection {
  const socket = req.socket;
  const sourceIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const tlsSocket = socket as Partial<TLSSocket>;
  if (typeof tlsSocket.getProtocol === 'function' && tlsSocket.encrypted) {
    const cipher = tlsSocket.getCipher?.();
    return {
      sourceIp,
      tls: {
        tlsVersion: tlsSocket.getProtocol() ?? '',
        cipherSuite: cipher?.standardName ?? cipher?.name ?? '',
        clientProvidedHostHeader: req.headers.host ?? '',
      },
    };
  }
  return { sourceIp };
}

function send(res: ServerResponse, response: WireResponse, method: string): void {
  const body = response.body;
  const headers: Record<string, string | number> = { ...response.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  }
  res.writeHead(response.status, headers);
  // A string body goes out in the same write as the head (Node joins them); a Buffer would
  // take a second one.
  res.end(method === 'HEAD' ? undefined : body);
}

function plainError(res: ServerResponse, error: AwsError): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>`;
  res.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** Binds `server` and resolves with the address it got (the port chosen when `port` is 0). */
export function listenOn(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('server has no TCP address'));
        return;
      }
      resolve({ host, port: address.port });
    });
  });
}

/** Creates the listener; nothing is bound until {@link Listener.listen}. */
export function createListener(opts: ListenerOptions): Listener {
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const finish = (): void => {
      inFlight--;
      if (inFlight === 0) drained?.();
    };
    res.on('close', finish);
    readBody(req, opts.maxBodyBytes).then(
      async (body) => {
        const response = await opts.handler.handle(toWireRequest(req, body), connectionOf(req));
        send(res, response, req.method ?? 'GET');
      },
      (e: unknown) => {
        if (e instanceof BodyTooLarge) {
          // Answer without reading the rest, and close: the unread body must not be parsed as a request.
          plainError(res, errors.requestEntityTooLarge(opts.maxBodyBytes));
          req.socket.end();
        } else {
          opts.logger.debug({ err: e }, 'request body failed');
          res.destroy();
        }
      },
    ).catch((e: unknown) => {
      opts.logger.error({ err: e }, 'unhandled request failure');
      if (!res.headersSent) plainError(res, errors.internal());
      else res.destroy();
    });
  };

  const server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
    : createHttpServer(onRequest);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  server.on('clientError', (err, socket) => {
    // Malformed HTTP never reaches the pipeline; answer 400 and drop the connection.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    opts.logger.debug({ err }, 'client error');
  });

  return {
    server,
    listen: (host, port) => listenOn(server, host, port),
    close() {
      return new Promise((resolve) => {
        server.close(() => undefined);
        server.closeIdleConnections();
        if (inFlight === 0) {
          resolve();
          return;
        }
        drained = () => {
          server.closeAllConnections();
          resolve();
        };
      });
    },
  };
}
