/**
 * Benchmark support: a Cairn server or a peer (moto_server) in its own process, its peak
 * memory, pre-signed requests for load generation, and a uniform report.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

export interface PreparedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Peak resident memory of a process, from /proc (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Waits until something accepts HTTP on `url`. */
export async function waitForHttp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} never answered`);
}

/** Starts moto_server (the peer) on a free loopback port. */
export async function startMoto(): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(`${endpoint}/moto-api/`, child);
  return { endpoint, child };
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  url: string;
  requests: PreparedRequest[];
  connections: number;
  durationSeconds: number;
}

/** Which load generator {@link runLoad} uses: wrk when installed (`scripts/ensure-bench-tools.sh`), else autocannon. */
export function loadGenerator(): 'wrk' | 'autocannon' {
  generator ??= probeGenerator();
  return generator;
}

let generator: 'wrk' | 'autocannon' | undefined;

function probeGenerator(): 'wrk' | 'autocannon' {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (e) {
    // wrk --version exits 1 after printing its version; only a missing binary is ENOENT.
    return (e as { code?: string }).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
}

/**
 * Runs a bounded keep-alive load, cycling through `requests`. wrk (written in C) is
 * preferred: on a 2-core machine the load generator shares the cores with the server, and
 * wrk spends a small fraction of what a Node.js generator spends per request, so the
 * figure is closer to the server's own. A server that closes each connection (moto_server
 * answers `Connection: close`) is reconnected to by either generator, as any client would.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return loadGenerator() === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}

/** A Lua string literal for any bytes of `text` (decimal escapes for everything unusual). */
function luaString(text: string): string {
  let out = '"';
  for (const ch of Buffer.from(text, 'utf8')) {
    out += ch >= 0x20 && ch < 0x7f && ch !== 0x22 && ch !== 0x5c ? String.fromCharCode(ch) : `\\${ch}`;
  }
  return `${out}"`;
}

async function runWrk(opts: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-wrk-'));
  try {
    const script = join(dir, 'requests.lua');
    const requests = opts.requests.map((r) => {
      const headers = Object.entries(r.headers).map(([k, v]) => `[${luaString(k)}] = ${luaString(v)}`).join(', ');
      return `wrk.format(${luaString(r.method)}, ${luaString(r.path)}, { ${headers} }${r.body === undefined ? '' : `, ${luaString(r.body)}`})`;
    });
    writeFileSync(
      script,
      [
        'local requests = {}',
        'init = function(args)',
        ...requests.map((r) => `  requests[#requests + 1] = ${r}`),
        'end',
        'local i = 0',
        'request = function()',
        '  i = i % #requests + 1',
        '  return requests[i]',
        'end',
        'done = function(summary, latency, requests)',
        '  local e = summary.errors',
        '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))',
        'end',
      ].join('\n'),
    );
    const out = await new Promise<string>((resolve, reject) => {
      // One thread: the generator should take as little of the two cores as it can.
      const child = spawn('wrk', ['-t1', `-c${opts.connections}`, `-d${opts.durationSeconds}s`, '--timeout', '10s', '-s', script, opts.url], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
    });
    const fields = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
    if (!fields) throw new Error(`wrk printed no result: ${out}`);
    const [total, durationUs, p50Us, p99Us, non2xx, errors] = fields.slice(1).map(Number) as [number, number, number, number, number, number];
    return {
      requestsPerSecond: Math.round(total / (durationUs / 1e6)),
      p50Ms: Math.round(p50Us / 100) / 10,
      p99Ms: Math.round(p99Us / 100) / 10,
      total,
      non2xx,
      errors,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(opts: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationSeconds,
    requests: opts.requests.map((r) => ({ method: r.method as 'POST', path: r.path, headers: r.headers, body: r.body })),
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Prints a section of figures. */
export function report(title: string, rows: Record<string, string | number>): void {
  console.log(`\n## ${title}`);
  for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(42)} ${v}`);
}

/**
 * A plain load loop with one new connection per request (`connection: close`), for peers
 * such as moto_server whose HTTP server stalls under autocannon's keep-alive pipelining.
 * Used for both sides of a peer comparison so the two figures share one method.
 */
export async function runLoadPerConnection(opts: {
  url: string;
  requests: PreparedRequest[];
  concurrency: number;
  durationSeconds: number;
}): Promise<LoadResult> {
  const target = new URL(opts.url);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const deadline = Date.now() + opts.durationSeconds * 1000;
  const one = (r: PreparedRequest): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: r.method,
          path: r.path,
          agent: false,
          headers: { ...r.headers, connection: 'close', ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 300) non2xx++;
            latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const r = opts.requests[next++ % opts.requests.length];
      if (r) await one(r);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    total: latencies.length,
    non2xx,
    errors,
  };
}
