// Bundles `cairn validate-logs` (dist/cli/validate-logs.js and what it imports, taken from
// the packages' ESM builds and tree-shaken) into that one file. The command is a short
// process that makes hundreds of requests; loading some forty CommonJS modules of the
// SDK's signer cost it more start-up than all its other imports together. The AWS SDK
// clients, imported only when credentials or endpoints come from elsewhere than the
// environment, stay outside.
import { build } from 'esbuild';
import { resolve } from 'node:path';

const file = resolve(import.meta.dirname, '../dist/cli/validate-logs.js');
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/client-cloudtrail', '@aws-sdk/client-s3'],
  sourcemap: true,
  logLevel: 'warning',
});
