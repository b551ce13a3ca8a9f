/**
 * The operator's listener: a second port, apart from the AWS APIs, that answers
 * `/metrics` (Prometheus), `/healthz` and `/readyz` without AWS credentials, and serves the
 * web console. Being its own port, none of its paths can be mistaken for an S3 bucket
 * (`metrics` and `healthz` are valid bucket names), and a firewall can expose the API
 * without it, or it without the API.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../platform/logger.js';
import type { Telemetry } from '../platform/telemetry.js';
import { listenOn } from './http.js';

/** One path the operator listener answers; `handle` writes the whole response. */
export interface OperatorRoute {
  /** The exact path (query string aside), or a prefix ending in `/`. */
  path: string;
  prefix?: boolean;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** What `/readyz` asks: undefined when ready, else why not. */
export type ReadinessCheck = () => string | undefined;

export interface OperatorListener {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/** Writes a small text or JSON answer. */
export function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/** `/healthz`: the process answers. `/readyz`: the API listens and the event log accepts appends. */
export function healthRoutes(ready: ReadinessCheck): OperatorRoute[] {
  return [
    { path: '/healthz', handle: (_req, res) => reply(res, 200, 'ok\n') },
    {
      path: '/readyz',
      handle: (_req, res) => {
        const problem = ready();
        reply(res, problem === undefined ? 200 : 503, problem === undefined ? 'ready\n' : `not ready: ${problem}\n`);
      },
    },
  ];
}

/** `/metrics`: the registry's exposition text, or prom-client's JSON form when the client accepts only JSON (`cairn status`). */
export function metricsRoute(metrics: Pick<Telemetry, 'exposition' | 'contentType' | 'registry'>): OperatorRoute {
  return {
    path: '/metrics',
    handle: async (req, res) => {
      if (req.headers.accept === 'application/json') {
        reply(res, 200, JSON.stringify(await metrics.registry.getMetricsAsJSON()), { 'content-type': 'application/json' });
        return;
      }
      reply(res, 200, await metrics.exposition(), { 'content-type': metrics.contentType });
    },
  };
}

/** Creates the listener; nothing is bound until `listen`. */
export function createOperatorListener(opts: { routes: readonly OperatorRoute[]; logger: Logger; tls?: { cert: Buffer; key: Buffer } }): OperatorListener {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = opts.routes.find((r) => (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (!route) {
      reply(res, 404, 'not found\n');
      return;
    }
    Promise.resolve()
      .then(() => route.handle(req, res))
      .catch((e: unknown) => {
        opts.logger.error({ err: e, path }, 'operator request failed');
        if (!res.headersSent) reply(res, 500, 'internal error\n');
        else res.destroy();
      });
  };
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  return {
    listen: (host, port) => listenOn(server, host, port),
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Console long polls and scrapes in flight are not worth waiting for at shutdown.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
    },
  };
}
