/**
 * `npm run bench [name...]`: runs the benchmarks (all, or those whose file name matches)
 * one after another and prints their figures. Each is bounded and stops by itself.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const dir = import.meta.dirname;
const filters = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort();

console.log(`# Cairn benchmarks (${new Date().toISOString()}, node ${process.version})`);
for (const file of benches) {
  console.log(`\n# ${file}`);
  const mod = (await import(resolve(dir, file))) as { run: () => Promise<void> };
  await mod.run();
}
