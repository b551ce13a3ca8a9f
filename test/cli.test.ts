/**
 * The command-line contract: `cairn server` and `cairn env` as other tools use them,
 * with the stock AWS CLI on the other side.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { run, tempDir } from './support/cairn.js';
import { readRecords } from './support/records.js';
import { cairnBin, repoRoot, spawnServer, type ServerProcess } from './support/process.js';

const running: ServerProcess[] = [];
afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
});

const cleanEnv = { PATH: process.env.PATH, HOME: tempDir('cairn-home-') };

describe('cairn server and cairn env', () => {
  it('eval "$(cairn env)" makes the stock AWS CLI talk to the server', async () => {
    const dataDir = tempDir();
    const server = await spawnServer(dataDir);
    running.push(server);

    const script = `eval "$(${cairnBin} env --data-dir ${dataDir})" && aws cloudtrail describe-trails --output json && aws sts get-caller-identity --output json`;
    const out = await run('bash', ['-c', script], cleanEnv);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('"trailList": []');
    const account = /"Account": "(\d{12})"/.exec(out.stdout)?.[1];
    expect(account).toMatch(/^[1-9]\d{11}$/);

    // Secrets at rest are the owner's alone; the credentials file is a valid AWS profile.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'credentials')).mode & 0o777).toBe(0o600);
    const profile = await run(
      'aws',
      ['--profile', 'cairn', '--endpoint-url', server.endpoint, '--region', 'us-east-1', 'sts', 'get-caller-identity', '--output', 'json'],
      { ...cleanEnv, AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'), AWS_CONFIG_FILE: join(dataDir, 'none') },
    );
    expect(profile.code, profile.stderr).toBe(0);
    expect(profile.stdout).toContain(account);

    // SIGTERM stops it cleanly; a restart keeps the same account and key.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const again = await spawnServer(dataDir);
    running.push(again);
    expect(again.root).toEqual(server.root);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('reads its settings from CAIRN_* variables', async () => {
    const dataDir = tempDir();
    const quiet = await spawnServer(dataDir, [], { CAIRN_LOG_LEVEL: 'warn' });
    running.push(quiet);
    expect(quiet.logs()).not.toContain('cairn is listening');
    quiet.child.kill('SIGTERM');
    expect(await quiet.exited).toBe(0);
    const server = await spawnServer(dataDir, [], { CAIRN_LOG_LEVEL: 'info' });
    running.push(server);
    // The log line travels through a pipe: it may arrive just after the address file.
    for (let i = 0; i < 100 && !server.logs().includes('cairn is listening'); i++) await sleep(20);
    expect(server.logs()).toContain('cairn is listening');
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it('refuses plain HTTP on a non-loopback address unless told', () => {
    let failure = '';
    try {
      execFileSync(process.execPath, [cairnBin, 'server', '--data-dir', tempDir(), '--host', '0.0.0.0'], {
        env: cleanEnv,
        stdio: 'pipe',
      });
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      expect(err.status).toBe(2);
      failure = err.stderr.toString();
    }
    expect(failure).toContain('without TLS');
  });

  it('serves HTTPS with a given certificate and records tlsDetails', async () => {
    const dataDir = tempDir();
    const cert = join(dataDir, 'cert.pem');
    const key = join(dataDir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'pipe' });
    const server = await spawnServer(dataDir, ['--tls-cert', cert, '--tls-key', key]);
    running.push(server);
    expect(server.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const out = await run('aws', ['sts', 'get-caller-identity', '--output', 'json'], {
      ...cleanEnv,
      AWS_ACCESS_KEY_ID: server.root.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.root.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_CA_BUNDLE: cert,
    });
    expect(out.code, out.stderr).toBe(0);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const record = readRecords(dataDir).map((r) => r.record).find((r) => r.eventName === 'GetCallerIdentity');
    expect(record?.tlsDetails).toMatchObject({ tlsVersion: expect.stringMatching(/^TLSv1\.[23]$/) as unknown });
  });

  it('prints help and refuses unknown commands', () => {
    expect(execFileSync(process.execPath, [cairnBin, '--help'], { cwd: repoRoot }).toString()).toContain('server');
    expect(() => execFileSync(process.execPath, [cairnBin, 'frobnicate'], { stdio: 'pipe' })).toThrow();
    expect(readFileSync(cairnBin, 'utf8')).toContain('dist/cli/main.js');
  });
});
