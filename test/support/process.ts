/**
 * Test support: the real `./bin/cairn server` as a child process, for what only a
 * separate process shows: signals, kill -9 and restarts over the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Credentials } from './cairn.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const cairnBin = join(repoRoot, 'bin', 'cairn');

export interface ServerProcess {
  child: ChildProcess;
  endpoint: string;
  root: Credentials;
  /** Everything the process wrote to stderr so far. */
  logs(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `cairn server` on a free port and waits until it has recorded its address. */
export async function spawnServer(dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const addressFile = join(dataDir, 'server.json');
  rmSync(addressFile, { force: true });
  // CAIRN_SERVER_NODE_ARGS passes flags to the server's node (e.g. `--cpu-prof` to profile a benchmark).
  const nodeArgs = (process.env.CAIRN_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, cairnBin, 'server', '--data-dir', dataDir, '--port', '0', ...extraArgs], {
    env: { ...process.env, CAIRN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((res) => child.on('exit', (code, signal) => res(code ?? signal ?? -1)));
  // Up to 30 s: a loaded machine (CI's two cores) can take many seconds to start Node and open the stores.
  for (let i = 0; i < 600; i++) {
    if (existsSync(addressFile)) {
      const address = JSON.parse(readFileSync(addressFile, 'utf8')) as { endpoint: string; pid: number };
      if (address.pid === child.pid) {
        const text = readFileSync(join(dataDir, 'credentials'), 'utf8');
        const accessKeyId = /aws_access_key_id = (\S+)/.exec(text)?.[1] ?? '';
        const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(text)?.[1] ?? '';
        return { child, endpoint: address.endpoint, root: { accessKeyId, secretAccessKey }, logs: () => stderr, exited };
      }
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`cairn server did not start:\n${stderr}`);
}
