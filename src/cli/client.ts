/**
 * Where the `cairn` commands that call the server (`tail`, `status`, `console`) find it and
 * whose credentials they use: the AWS environment variables when set (what `cairn env`
 * exports, or any other principal's keys), else the root key and address recorded in the
 * data directory.
 */
import { resolve } from 'node:path';
import { readCredentialsFile, readServerAddress, type ServerAddress } from '../server/datadir.js';

export interface ServerTarget {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The server's address file, when the data directory has one (it names the operator's port). */
  address?: ServerAddress;
}

/**
 * Keeps the AWS SDK from warning on stderr about Node versions it will stop supporting;
 * the commands' output is for people and scripts.
 */
export function quietSdk(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** Resolves the server and credentials; a message for the user when there are none. */
export function serverTarget(opts: { dataDir: string; endpointUrl?: string; region?: string }, env: NodeJS.ProcessEnv = process.env): ServerTarget | string {
  const dataDir = resolve(opts.dataDir);
  const address = readServerAddress(dataDir);
  const endpoint = opts.endpointUrl ?? env.AWS_ENDPOINT_URL ?? address?.endpoint;
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (endpoint === undefined) return `no server has run with data directory ${dataDir}; start one with \`cairn server\` or set AWS_ENDPOINT_URL`;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      endpoint,
      region,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      },
      ...(address ? { address } : {}),
    };
  }
  const creds = readCredentialsFile(dataDir);
  if (!creds) return `no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (eval "$(cairn env)") or pass --data-dir`;
  return { endpoint, region, credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }, ...(address ? { address } : {}) };
}
