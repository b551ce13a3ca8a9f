// Crash safety and the compiled build: both run the log in a child process.
import Database from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { eventLogFiles, openSqliteEventLog } from './sqlite-eventlog.js';
import { testEvent } from './test-events.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const here = new URL('./', import.meta.url).href;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-eventlog-crash-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Appends forever with 64 appends in flight, printing "seq index" for each acknowledged one.
function childScript(moduleDir: string, ext: string, dataDir: string): string {
  return `
import { openSqliteEventLog } from ${JSON.stringify(`${moduleDir}sqlite-eventlog.${ext}`)};
import { testEvent } from ${JSON.stringify(`${moduleDir}test-events.${ext}`)};
const { log } = await openSqliteEventLog({ dataDir: ${JSON.stringify(dataDir)} });
process.stdout.write('ready\\n');
let next = 0;
const one = async () => {
  for (;;) {
    const i = next++;
    const seq = await log.append(testEvent(i, 'crash'));
    process.stdout.write(seq + ' ' + i + '\\n');
  }
};
await Promise.all(Array.from({ length: 64 }, one));
`;
}

/** Runs `script` with node, kills it `killAfterMs` after it prints "ready", returns its complete stdout lines. */
function runAndKill(args: string[], killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.startsWith('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child ended without being killed: ${err}`));
      // A line cut by the kill has no newline yet; it was never fully acknowledged.
      resolve(out.split('\n').slice(1, -1));
    });
  });
}

async function expectIntact(dataDir: string, lines: string[]): Promise<void> {
  const acknowledged = lines.map((l) => l.split(' ').map(Number) as [number, number]);
  expect(acknowledged.length).toBeGreaterThan(100);

  const db = new Database(join(dataDir, eventLogFiles.log));
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  db.close();

  const { log } = await openSqliteEventLog({ dataDir });
  try {
    const all = log.readAfter(0, 1_000_000);
    // Dense: seqs 1..n with nothing missing, every row whole.
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(log.lastSeq()).toBe(all.length);
    console.info(`acknowledged ${acknowledged.length}, stored ${all.length}`);
    for (const [seq, i] of acknowledged) {
      const stored = all[seq - 1];
      expect(stored).toEqual({ ...testEvent(i, 'crash'), seq });
    }
    // The log is still writable after recovery.
    expect(await log.append(testEvent(0, 'after'))).toBe(all.length + 1);
  } finally {
    await log.close();
  }
}

describe('crash safety', () => {
  it('keeps every acknowledged record, whole, after SIGKILL', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const script = join(dir, 'child.mts');
    writeFileSync(script, childScript(here, 'ts', dataDir));
    const lines = await runAndKill(['--import', 'tsx', script], 300);
    await expectIntact(dataDir, lines);
  });

  it('runs from the compiled build, and survives SIGKILL there too', async () => {
    const dir = tempDir();
    const out = join(dir, 'dist');
    const srcDir = fileURLToPath(here);
    // Compile just this folder's runtime files, as `npm run build` would.
    await promisify(execFile)(
      join(projectRoot, 'node_modules/.bin/tsc'),
      [
        ...['--outDir', out, '--rootDir', srcDir, '--module', 'NodeNext', '--moduleResolution', 'NodeNext'],
        ...['--target', 'ES2022', '--types', 'node', '--skipLibCheck', '--strict', '--verbatimModuleSyntax'],
        ...['sqlite-eventlog.ts', 'writer-worker.ts', 'test-events.ts'].map((f) => join(srcDir, f)),
      ],
      { cwd: projectRoot },
    );
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const script = join(dir, 'child.mjs');
    writeFileSync(script, childScript(`${new URL(`file://${out}/`).href}`, 'js', dataDir));
    // No tsx anywhere: the child and its writer thread run plain JavaScript.
    const lines = await runAndKill([script], 300);
    await expectIntact(dataDir, lines);
  });
});
