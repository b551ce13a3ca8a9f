// Builds dist/ once before the tests if it is missing, so tests of `./bin/cairn` run the
// current code. A failed build only fails the tests that spawn the binary.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(import.meta.dirname, '..');
  if (existsSync(resolve(root, 'dist/cli/main.js'))) return;
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    console.warn(`global setup: npm run build failed; tests of ./bin/cairn will fail\n${String(e)}`);
  }
}
