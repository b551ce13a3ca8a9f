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
  })
  .superRefine((c, ctx) => {
    if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) {
      ctx.addIssue({ code: 'custom', message: '--tls-cert and --tls-key must be given together' });
    }
    if (!c.tlsCert && !loopbackHosts.has(c.host) && !c.insecureHttp) {
      ctx.addIssue({
        code: 'custom',
        message: `refusing to listen on ${c.host} without TLS: give --tls-cert and --tls-key, or --insecure-http`,
      });
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

/** Validates a configuration, returning it or a list of human-readable problems. */
export function parseServerConfig(input: unknown): { ok: true; config: ServerConfig } | { ok: false; problems: string[] } {
  const result = serverConfigSchema.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)),
  };
}
