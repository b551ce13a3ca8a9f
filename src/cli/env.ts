/**
 * `cairn env`: prints `export` lines that point the AWS CLI and SDKs at the server
 * recorded in the data directory, with the management account's root credentials, or
 * (`--account`) with a session of a member account's access role.
 */
import { resolve } from 'node:path';
import { readCredentialsFile, readServerAddress } from '../server/datadir.js';
import { CallError, memberSession } from './member-session.js';

/** Quotes a value for POSIX shells. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Options of `cairn env`. */
export interface EnvOptions {
  /** A member account, by id or name: the lines carry a session of its access role. */
  account?: string;
  /** The role assumed in `account` (Organizations' OrganizationAccountAccessRole by default). */
  roleName?: string;
}

export async function envCommand(dataDirOption: string, opts: EnvOptions = {}): Promise<number> {
  const dataDir = resolve(dataDirOption);
  const creds = readCredentialsFile(dataDir);
  const address = readServerAddress(dataDir);
  if (!creds || !address) {
    process.stderr.write(`cairn env: no server has run with data directory ${dataDir}; start one with \`cairn server\`\n`);
    return 1;
  }
  let session: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = creds;
  if (opts.account !== undefined) {
    try {
      session = await memberSession(address.endpoint, creds, opts.account, opts.roleName);
    } catch (e) {
      const why = e instanceof CallError ? e.message : e instanceof Error ? e.message : String(e);
      process.stderr.write(`cairn env: no session in account ${opts.account}: ${why}\n`);
      return 1;
    }
  }
  const lines = [
    ['AWS_ACCESS_KEY_ID', session.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', session.secretAccessKey],
    ...(session.sessionToken !== undefined ? [['AWS_SESSION_TOKEN', session.sessionToken]] : []),
    ['AWS_REGION', 'us-east-1'],
    ['AWS_DEFAULT_REGION', 'us-east-1'],
    ['AWS_ENDPOINT_URL', address.endpoint],
  ].map(([name, value]) => `export ${name}=${shellQuote(value ?? '')}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `cairn console`: the web console's address, alone on the last line (for scripts and `xdg-open`). */
export function consoleCommand(dataDirOption: string): number {
  const dataDir = resolve(dataDirOption);
  const address = readServerAddress(dataDir);
  if (!address) {
    process.stderr.write(`cairn console: no server has run with data directory ${dataDir}; start one with \`cairn server\`\n`);
    return 1;
  }
  if (!address.operatorEndpoint) {
    process.stderr.write('cairn console: the server runs without its operator port (--operator-address off)\n');
    return 1;
  }
  process.stdout.write(`Cairn console (sign in with an access key ID and secret access key; \`cairn env\` prints the root key):\n${address.operatorEndpoint}/\n`);
  return 0;
}
