// Bundles the `cairn` command's entry (dist/cli/main.js with commander) and `cairn
// validate-logs` (dist/cli/validate-logs.js and what it imports, taken from the packages'
// ESM builds and tree-shaken), each into its one file. validate-logs is a short process
// that makes hundreds of requests: loading some forty CommonJS modules of the SDK's signer,
// or commander's half-dozen, cost it more start-up than all its other imports together.
// The other commands (the server and its native SQLite) and the AWS SDK clients, imported
// only when credentials or endpoints come from elsewhere than the environment, stay
// outside.
import { build } from 'esbuild';
import { resolve } from 'node:path';

const dist = resolve(import.meta.dirname, '../dist/cli');
const common = {
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
};

await build({
  ...common,
  entryPoints: [`${dist}/validate-logs.js`],
  outfile: `${dist}/validate-logs.js`,
  external: ['@aws-sdk/client-cloudtrail', '@aws-sdk/client-s3'],
});
await build({
  ...common,
  entryPoints: [`${dist}/main.js`],
  outfile: `${dist}/main.js`,
  // Each command's module is loaded when the command runs.
  external: ['./server.js', './env.js', './validate-logs.js'],
});
