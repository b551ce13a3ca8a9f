/**
 * The server's configuration: one typed, validated object built from flags and `CAIRN_*`
 * environment variables by the CLI, checked once at start-up (a bad value exits with a
 * clear message) and passed down; nothing reads the environment anywhere else.
 */
import { z } from 'zod';

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

export const serverConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    insecureHttp: z.boolean(),
    /** Requests with a larger body are refused with 413 before the body is read. */
    maxBodyBytes: z.number().int().min(1024),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** How long an S3 archive restore takes (ms); S3's typical time per retrieval tier when absent. */
    restoreDelayMs: z.number().int().min(0).max(30 * 24 * 60 * 60 * 1000).optional(),
    /** How often trails deliver log files (ms); CloudTrail's 5 minutes when absent. */
    deliveryIntervalMs: z.number().int().min(100).max(24 * 60 * 60 * 1000).optional(),
    /** How often trails with log file validation get a digest (ms); CloudTrail's hour when absent. */
    digestIntervalMs: z.number().int().min(1000).max(24 * 60 * 60 * 1000).optional(),
    /** An external S3-compatible endpoint for trail buckets and log files, instead of the embedded store. */
    s3Endpoint: z.url({ protocol: /^https?$/ }).optional(),
    s3AccessKeyId: z.string().min(1).optional(),
    s3SecretAccessKey: z.string().min(1).optional(),
    s3Region: z.string().min(1).optional(),
    /** Path-style requests (`endpoint/bucket/key`) unless false. */
    s3ForcePathStyle: z.boolean().optional(),
    /** Whether the Lambda API may run uploaded code (`--functions`); off, CreateFunction is refused. */
    functions: z.boolean().optional(),
    /**
     * The operator's listener (web console, `/metrics`, `/healthz`, `/readyz`), on its own
     * port so no path of it can be taken for an S3 bucket; absent, there is none.
     */
    operator: z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).optional(),
    /** Prometheus metrics are collected and served at the operator's `/metrics` unless false. */
    metrics: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) {
      ctx.addIssue({ code: 'custom', message: '--tls-cert and --tls-key must be given together' });
    }
    if (Boolean(c.s3AccessKeyId) !== Boolean(c.s3SecretAccessKey)) {
      ctx.addIssue({ code: 'custom', message: '--s3-access-key-id and --s3-secret-access-key must be given together' });
    }
    for (const host of [c.host, ...(c.operator ? [c.operator.host] : [])]) {
      if (!c.tlsCert && !loopbackHosts.has(host) && !c.insecureHttp) {
        ctx.addIssue({
          code: 'custom',
          message: `refusing to listen on ${host} without TLS: give --tls-cert and --tls-key, or --insecure-http`,
        });
      }
    }
  });

export type ServerConfig = z.infer<typeof serverConfigSchema>;

export const defaultServerConfig: ServerConfig = {
  dataDir: './cairn-data',
  host: '127.0.0.1',
  port: 4777,
  insecureHttp: false,
  maxBodyBytes: 32 * 1024 * 1024,
  logLevel: 'info',
};

/**
 * Parses a duration such as `5s`, `500ms`, `2m` or `1h` (a bare number is milliseconds)
 * into milliseconds; undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Parses `--operator-address`: `off`, a port, or `host:port` (`[::1]:4778` for IPv6).
 * Undefined when it is none of these.
 */
export function parseListenAddress(text: string, defaultHost: string): { host: string; port: number } | 'off' | undefined {
  if (text === 'off') return 'off';
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1] === undefined ? defaultHost : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** Validates a configuration, returning it or a list of human-readable problems. */
export function parseServerConfig(input: unknown): { ok: true; config: ServerConfig } | { ok: false; problems: string[] } {
  const result = serverConfigSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)),
  };
}
