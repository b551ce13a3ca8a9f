// Checks that dependencies point inward (docs/ARCHITECTURE.md): each top-level folder of
// src/ may import only the folders listed for it. Import cycles are checked by dpdm.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');
const engines = ['iam', 'kms', 'trails', 'delivery', 'history', 'integrity', 'bus', 'logs', 'metrics', 'insights', 'lake', 'objectstore', 'sqs', 'sns', 'functions', 'organizations'];
const base = ['platform'];
const allowed = {
  platform: [],
  models: [],
  wire: [...base],
  storage: [...base],
  eventlog: [...base, 'storage'],
  auth: [...base, 'wire', 'storage'],
  audit: [...base, 'auth', 'wire'],
  ...Object.fromEntries(engines.map((e) => [e, [...base, 'storage', 'eventlog', 'auth', 'audit', ...engines.filter((x) => x !== e)]])),
  services: [...base, 'storage', 'eventlog', 'auth', 'audit', 'wire', ...engines],
  server: [...base, 'storage', 'eventlog', 'auth', 'audit', 'wire', 'services', ...engines],
  cli: ['*'],
  'app.ts': ['*'],
};

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) yield path;
  }
}

const topOf = (path) => relative(root, path).split(sep)[0];
const problems = [];
for (const file of files(root)) {
  const from = topOf(file);
  const rules = allowed[from];
  if (!rules) {
    problems.push(`${relative(root, file)}: folder '${from}' has no dependency rule in scripts/check-imports.mjs`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = topOf(resolve(dirname(file), m[1]));
    if (target === from || rules.includes('*') || rules.includes(target) || target.startsWith('..')) continue;
    problems.push(`${relative(root, file)} imports ${m[1]}: '${from}' may not depend on '${target}'`);
  }
}
if (problems.length > 0) {
  console.error(`import direction check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('import direction: ok');
