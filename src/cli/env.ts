/**
 * `cairn env`: prints `export` lines that point the AWS CLI and SDKs at the server
 * recorded in the data directory, with the management account's root credentials.
 */
import { resolve } from 'node:path';
import { readCredentialsFile, readServerAddress } from '../server/datadir.js';

/** Quotes a value for POSIX shells. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function envCommand(dataDirOption: string): number {
  const dataDir = resolve(dataDirOption);
  const creds = readCredentialsFile(dataDir);
  const address = readServerAddress(dataDir);
  if (!creds || !address) {
    process.stderr.write(`cairn env: no server has run with data directory ${dataDir}; start one with \`cairn server\`\n`);
    return 1;
  }
  const lines = [
    ['AWS_ACCESS_KEY_ID', creds.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', creds.secretAccessKey],
    ['AWS_REGION', 'us-east-1'],
    ['AWS_DEFAULT_REGION', 'us-east-1'],
    ['AWS_ENDPOINT_URL', address.endpoint],
  ].map(([name, value]) => `export ${name}=${shellQuote(value ?? '')}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
