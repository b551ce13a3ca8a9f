// Bundles the `cairn` command's entry (dist/cli/main.js) with commander and `cairn
// validate-logs` (what it imports, taken from the packages' ESM builds and tree-shaken)
// into that one file. validate-logs is a short process that makes hundreds of requests:
// loading many small modules (commander's half-dozen, the SDK signer's forty-odd CommonJS
// ones) cost it more start-up than all its other work but the requests. The other
// commands (the server and its native SQLite) and the AWS SDK clients, imported only when
// credentials or endpoints come from elsewhere than the environment, stay outside.
import { build } from 'esbuild';
import { resolve } from 'node:path';

const main = resolve(import.meta.dirname, '../dist/cli/main.js');
await build({
  entryPoints: [main],
  outfile: main,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  sourcemap: true,
  logLevel: 'warning',
  // Loaded when their command runs.
  external: ['./server.js', './env.js', './tail.js', './status.js', './completion.js', '@aws-sdk/client-cloudtrail', '@aws-sdk/client-s3'],
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
});
