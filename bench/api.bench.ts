/**
 * Authenticated, recorded calls per second: a small JSON operation (CloudTrail
 * DescribeTrails) and a Query one (STS GetCallerIdentity), SigV4 verified and the record
 * durably appended before each answer; p50/p99 latency and the server's peak RSS. The
 * same requests go to moto_server (which neither verifies signatures nor records) in the
 * same run, from the same load generator, for the ratio (moto closes every connection, so
 * the generator reconnects to it per call; both are also measured with a new connection
 * per call).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signRequest } from '../test/support/sign.js';
import { tempDir } from '../test/support/cairn.js';
import { cairnBin } from '../test/support/process.js';
import { loadGenerator, peakRssMiB, report, runLoad, runLoadPerConnection, startMoto, type PreparedRequest } from './support.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 32;

interface Workload {
  name: string;
  prepare(endpoint: string, creds: { accessKeyId: string; secretAccessKey: string }): Promise<PreparedRequest[]>;
}

async function presign(
  endpoint: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  service: string,
  headers: Record<string, string>,
  body: string,
): Promise<PreparedRequest[]> {
  // Distinct signatures (one per second of signing date) so the server cannot cache a verification.
  const now = Date.now();
  return Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const signed = await signRequest(endpoint, creds, { service, headers, body, signingDate: new Date(now - i * 1000) });
      const h = { ...signed.headers };
      delete h.host;
      return { method: 'POST', path: '/', headers: h, body };
    }),
  );
}

const workloads: Workload[] = [
  {
    name: 'CloudTrail DescribeTrails (AWS JSON 1.1)',
    prepare: (endpoint, creds) =>
      presign(endpoint, creds, 'cloudtrail', {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails',
      }, '{}'),
  },
  {
    name: 'STS GetCallerIdentity (Query)',
    prepare: (endpoint, creds) =>
      presign(endpoint, creds, 'sts', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        'Action=GetCallerIdentity&Version=2011-06-15'),
  },
];

interface BenchServer {
  child: ReturnType<typeof spawn>;
  pid: number;
  address: { endpoint: string; operatorEndpoint?: string };
  creds: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

async function startCairn(extraArgs: string[] = []): Promise<BenchServer> {
  const dataDir = tempDir('cairn-bench-');
  const child = spawn(process.execPath, [cairnBin, 'server', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn', ...extraArgs], {
    stdio: 'inherit',
  });
  let address: BenchServer['address'] | undefined;
  for (let i = 0; i < 200 && !address; i++) {
    try {
      address = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as BenchServer['address'];
    } catch {
      await sleep(50);
    }
  }
  if (!address || child.pid === undefined) throw new Error('cairn did not start');
  const credsText = readFileSync(join(dataDir, 'credentials'), 'utf8');
  const creds = {
    accessKeyId: /aws_access_key_id = (\S+)/.exec(credsText)?.[1] ?? '',
    secretAccessKey: /aws_secret_access_key = (\S+)/.exec(credsText)?.[1] ?? '',
  };
  return {
    child,
    pid: child.pid,
    address,
    creds,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What Prometheus metrics cost the API: the same calls to a server with metrics (the
 * default) and one started with `--no-metrics`, in alternating rounds so both see the same
 * machine, and the ratio of their medians.
 */
async function metricsCost(): Promise<void> {
  const [w] = workloads;
  if (!w) return;
  const on = await startCairn();
  const off = await startCairn(['--no-metrics']);
  try {
    const onRequests = await w.prepare(on.address.endpoint, on.creds);
    const offRequests = await w.prepare(off.address.endpoint, off.creds);
    const rounds = { on: [] as number[], off: [] as number[] };
    const seconds = Math.max(2, Math.round(DURATION / 2));
    for (const s of [on, off]) {
      await runLoad({ url: s.address.endpoint, requests: s === on ? onRequests : offRequests, connections: CONNECTIONS, durationSeconds: 2 });
    }
    for (let i = 0; i < 3; i++) {
      rounds.on.push((await runLoad({ url: on.address.endpoint, requests: onRequests, connections: CONNECTIONS, durationSeconds: seconds })).requestsPerSecond);
      rounds.off.push((await runLoad({ url: off.address.endpoint, requests: offRequests, connections: CONNECTIONS, durationSeconds: seconds })).requestsPerSecond);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    // Scrapes of /metrics while the load runs: how long Prometheus waits for one.
    const scrapes: number[] = [];
    let loading = true;
    const scraping = (async () => {
      while (loading) {
        const started = performance.now();
        await (await fetch(`${on.address.operatorEndpoint}/metrics`)).text();
        scrapes.push(performance.now() - started);
        await sleep(100);
      }
    })();
    await runLoad({ url: on.address.endpoint, requests: onRequests, connections: CONNECTIONS, durationSeconds: seconds });
    loading = false;
    await scraping;
    scrapes.sort((a, b) => a - b);
    report(`${w.name} with and without Prometheus metrics, ${CONNECTIONS} connections, 3 alternating rounds of ${seconds} s`, {
      'calls/s with metrics (median)': median(rounds.on),
      'calls/s with --no-metrics (median)': median(rounds.off),
      'ratio with / without': (median(rounds.on) / Math.max(1, median(rounds.off))).toFixed(3),
      '/metrics scrapes under that load': scrapes.length,
      '/metrics scrape p50 / max (ms)': `${median(scrapes).toFixed(1)} / ${(scrapes.at(-1) ?? 0).toFixed(1)}`,
    });
  } finally {
    await Promise.all([on.stop(), off.stop()]);
  }
}

export async function run(): Promise<void> {
  const server = await startCairn();
  const { address, creds } = server;
  const moto = await startMoto();
  try {
    for (const w of workloads) {
      const cairnRequests = await w.prepare(address.endpoint, creds);
      // Warm up, then measure.
      await runLoad({ url: address.endpoint, requests: cairnRequests, connections: CONNECTIONS, durationSeconds: 2 });
      const cairn = await runLoad({ url: address.endpoint, requests: cairnRequests, connections: CONNECTIONS, durationSeconds: DURATION });
      // Peer comparison: the same requests from the same client to moto_server, which
      // answers `Connection: close`, so the generator reconnects for each of its calls.
      const motoRequests = await w.prepare(moto.endpoint, { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x'.repeat(40) });
      const peer = await runLoad({ url: moto.endpoint, requests: motoRequests, connections: CONNECTIONS, durationSeconds: Math.min(DURATION, 5) });
      // And both with a new connection per call, 8 at a time (a Node.js client).
      const perConnection = { concurrency: 8, durationSeconds: Math.min(DURATION, 5) };
      const cairnClosing = await runLoadPerConnection({ url: address.endpoint, requests: cairnRequests, ...perConnection });
      const motoClosing = await runLoadPerConnection({ url: moto.endpoint, requests: motoRequests, ...perConnection });
      report(`${w.name}, ${CONNECTIONS} connections from ${loadGenerator()}`, {
        'cairn calls/s (verified + recorded)': cairn.requestsPerSecond,
        'cairn p50 / p99 latency (ms)': `${cairn.p50Ms} / ${cairn.p99Ms}`,
        'cairn non-2xx / errors': `${cairn.non2xx} / ${cairn.errors}`,
        'moto_server calls/s (no auth, no record)': peer.requestsPerSecond,
        'moto_server p50 / p99 latency (ms)': `${peer.p50Ms} / ${peer.p99Ms}`,
        'ratio cairn / moto': (cairn.requestsPerSecond / Math.max(1, peer.requestsPerSecond)).toFixed(1),
        'new connection per call, 8 at a time:': '',
        '  cairn calls/s': cairnClosing.requestsPerSecond,
        '  moto_server calls/s': motoClosing.requestsPerSecond,
        '  ratio cairn / moto': (cairnClosing.requestsPerSecond / Math.max(1, motoClosing.requestsPerSecond)).toFixed(1),
      });
    }
    report('Cairn server memory', { 'peak RSS (MiB)': peakRssMiB(server.pid) });
  } finally {
    moto.child.kill('SIGTERM');
    await server.stop();
  }
  await metricsCost();
}
