/**
 * Files the server keeps in its data directory for people and tools: the AWS
 * shared-credentials file of the management account's root key (profile `cairn`) and
 * the address the server listens on, which `cairn env` reads.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CREDENTIALS_PROFILE = 'cairn';

export interface ServerAddress {
  endpoint: string;
  host: string;
  port: number;
  pid: number;
  /** The operator's base URL (web console, `/metrics`, `/healthz`, `/readyz`), when it listens. */
  operatorEndpoint?: string;
}

export interface RootCredentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Writes a file readable by its owner only, atomically (temp file, then rename). */
function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

export function writeCredentialsFile(dataDir: string, creds: RootCredentials): void {
  const text =
    `# Root credentials of the Cairn management account ${creds.accountId}.\n` +
    `[${CREDENTIALS_PROFILE}]\n` +
    `aws_access_key_id = ${creds.accessKeyId}\n` +
    `aws_secret_access_key = ${creds.secretAccessKey}\n`;
  const path = join(dataDir, 'credentials');
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writePrivate(path, text);
}

export function readCredentialsFile(dataDir: string): RootCredentials | undefined {
  const path = join(dataDir, 'credentials');
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const account = /management account (\d{12})/.exec(text)?.[1];
  const key = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1];
  const secret = /aws_secret_access_key\s*=\s*(\S+)/.exec(text)?.[1];
  if (!key || !secret) return undefined;
  return { accountId: account ?? '', accessKeyId: key, secretAccessKey: secret };
}

export function writeServerAddress(dataDir: string, address: ServerAddress): void {
  writePrivate(join(dataDir, 'server.json'), JSON.stringify(address, null, 2) + '\n');
}

export function readServerAddress(dataDir: string): ServerAddress | undefined {
  const path = join(dataDir, 'server.json');
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ServerAddress;
}
