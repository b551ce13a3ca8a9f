/**
 * Runs function code on this machine: one child process per warm instance (the machine's
 * `node` for `nodejs*` runtimes, its `python3` for `python3.*`), kept and reused between
 * invocations, several per function up to its concurrency limit. Each child gets only
 * the environment it is given (nothing of the server's), a memory ceiling (V8's heap
 * limit, and a resident-size watchdog for every runtime) and a deadline per invocation;
 * a child that overruns either is killed, as Lambda ends an instance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** What an instance needs to start. */
export interface InstanceSpec {
  /** Identifies the code and configuration; instances are reused only for the same key. */
  key: string;
  runtime: string;
  /** The directory holding the unpacked code (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** The complete environment of the child. */
  env: Record<string, string>;
  memoryMb: number;
  timeoutMs: number;
  /** Wraps the command (a sandbox such as bubblewrap), or runs it as is. */
  wrap?: (command: string, args: string[]) => { command: string; args: string[] };
}

/** The outcome of one invocation, as the runtime reports it. */
export type InvocationOutcome =
  | { kind: 'result'; payload: string }
  /** The handler threw (or its module could not load): Lambda's `Unhandled` with the error document. */
  | { kind: 'error'; error: { errorType: string; errorMessage: string; [k: string]: unknown } };

export interface InvocationResult {
  outcome: InvocationOutcome;
  /** The invocation's log lines (the function's output), without START/END/REPORT. */
  lines: string[];
  durationMs: number;
  /** Set on the invocation that started the instance. */
  initDurationMs?: number;
  maxMemoryUsedMb: number;
  logStreamName: string;
}

/** How the runtime reaches the interpreters; resolved once by the composition root. */
export interface Interpreters {
  node: string;
  python: string | undefined;
}

/** Finds the machine's `python3` (the real executable, not a shim), if any. */
export function findPython(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('python3', ['-c', 'import sys; print(sys.executable)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 && out.trim() ? out.trim() : undefined));
  });
}

const MEMORY_POLL_MS = 50;
/** Lines kept per invocation for the log; a function printing more is cut (and told so in the log). */
const MAX_LINES = 10_000;
const MAX_LINE_CHARS = 256 * 1024;

function bootstrapPath(name: string): string {
  return fileURLToPath(new URL(`./runtimes/${name}`, import.meta.url));
}

/** Peak and current resident size of a process, in MB, from /proc. */
function residentMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

interface RuntimeMessage {
  payload?: string;
  error?: { errorType: string; errorMessage: string };
}

interface Pending {
  resolve: (message: RuntimeMessage) => void;
}

/** One warm child process. */
export class Instance {
  readonly logStreamName: string;
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private pending: Pending | undefined;
  private lines: string[] = [];
  private exited: string | undefined;
  private readonly startedAt: number;
  private initMs = 0;
  private used = false;
  busy = false;
  lastUsed: number;

  constructor(
    readonly spec: InstanceSpec,
    private readonly interpreters: Interpreters,
    logStreamName: string,
    private readonly now: () => number,
  ) {
    this.logStreamName = logStreamName;
    this.startedAt = now();
    this.lastUsed = this.startedAt;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  get age(): number {
    return this.now() - this.startedAt;
  }

  private async start(): Promise<void> {
    const node = this.spec.runtime.startsWith('nodejs');
    let command: string;
    let args: string[];
    if (node) {
      command = this.interpreters.node;
      args = [`--max-old-space-size=${Math.max(16, this.spec.memoryMb - 32)}`, bootstrapPath('node-bootstrap.mjs')];
    } else {
      if (!this.interpreters.python) throw new Error('python3 is not installed on this machine');
      command = this.interpreters.python;
      args = ['-u', '-X', 'utf8', bootstrapPath('python-bootstrap.py')];
    }
    const wrapped = this.spec.wrap ? this.spec.wrap(command, args) : { command, args };
    const began = this.now();
    const child = spawn(wrapped.command, wrapped.args, {
      cwd: this.spec.taskRoot,
      env: this.spec.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: false,
    });
    this.child = child;
    const onLine = (line: string): void => {
      if (this.lines.length < MAX_LINES) this.lines.push(line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line);
    };
    if (child.stdout) createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', onLine);
    const control = child.stdio[3];
    let markReady: (() => void) | undefined;
    let failReady: ((e: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    if (control && 'on' in control) {
      createInterface({ input: control as NodeJS.ReadableStream, crlfDelay: Infinity }).on('line', (line: string) => {
        let message: RuntimeMessage & { ready?: boolean };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return;
        }
        if (message.ready) {
          this.initMs = this.now() - began;
          markReady?.();
          return;
        }
        const p = this.pending;
        this.pending = undefined;
        p?.resolve({ ...(message.payload !== undefined ? { payload: message.payload } : {}), ...(message.error ? { error: message.error } : {}) });
      });
    }
    child.on('error', (e) => {
      this.exited ??= e.message;
      failReady?.(e);
    });
    child.on('exit', (code, signal) => {
      this.exited ??= signal ? `signal: ${signalName(signal)}` : `exit status ${String(code)}`;
      failReady?.(new Error(this.exited));
      const p = this.pending;
      this.pending = undefined;
      p?.resolve({});
    });
    child.stdin?.on('error', () => undefined);
    await ready;
  }

  /** Runs one invocation; the instance must not be busy. */
  async invoke(req: { requestId: string; payload: string; invokedFunctionArn: string }): Promise<InvocationResult> {
    this.busy = true;
    this.lines = [];
    const began = this.now();
    const deadline = began + this.spec.timeoutMs;
    const first = !this.used;
    this.used = true;
    let killedFor: 'timeout' | 'memory' | undefined;
    let peak = 0;
    const watch = setInterval(() => {
      const pid = this.child?.pid;
      if (pid === undefined) return;
      const m = residentMb(pid);
      if (!m) return;
      peak = Math.max(peak, m.peak);
      if (m.rss > this.spec.memoryMb && !killedFor) {
        killedFor = 'memory';
        this.kill();
      }
    }, MEMORY_POLL_MS);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - this.now()));
      });
      this.ready ??= this.start().catch((e: unknown) => {
        this.exited ??= (e as Error).message;
        throw e;
      });
      const started = await Promise.race([this.ready.then(() => 'ready' as const, () => 'failed' as const), timedOut]);
      let message: RuntimeMessage = {};
      if (started === 'timeout') {
        killedFor = 'timeout';
        this.kill();
      } else if (started === 'ready') {
        const answered = new Promise<typeof message>((resolve) => {
          this.pending = { resolve };
        });
        this.child?.stdin?.write(JSON.stringify({ requestId: req.requestId, payload: req.payload, invokedFunctionArn: req.invokedFunctionArn, deadline: wallDeadline(this.spec.timeoutMs, began, this.now()) }) + '\n');
        const r = await Promise.race([answered, timedOut]);
        if (r === 'timeout') {
          killedFor ??= 'timeout';
          this.kill();
        } else {
          message = r;
        }
      }
      const pid = this.child?.pid;
      const m = pid !== undefined ? residentMb(pid) : undefined;
      if (m) peak = Math.max(peak, m.peak);
      const durationMs = this.now() - began;
      const outcome = this.outcomeOf(message, killedFor, req.requestId);
      return {
        outcome,
        lines: this.lines,
        durationMs,
        ...(first ? { initDurationMs: this.initMs } : {}),
        maxMemoryUsedMb: Math.max(1, Math.round(peak)),
        logStreamName: this.logStreamName,
      };
    } finally {
      clearInterval(watch);
      if (timer) clearTimeout(timer);
      this.busy = false;
      this.lastUsed = this.now();
    }
  }

  private outcomeOf(message: RuntimeMessage, killedFor: 'timeout' | 'memory' | undefined, requestId: string): InvocationOutcome {
    if (killedFor === 'timeout') {
      const seconds = (this.spec.timeoutMs / 1000).toFixed(2);
      return { kind: 'error', error: { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds` } };
    }
    if (killedFor === 'memory') {
      return { kind: 'error', error: { errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed` } };
    }
    if (message.error) return { kind: 'error', error: message.error };
    if (message.payload !== undefined) return { kind: 'result', payload: message.payload };
    return { kind: 'error', error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${this.exited ?? 'unknown'}` } };
  }

  kill(): void {
    this.exited ??= 'signal: killed';
    this.child?.kill('SIGKILL');
  }
}

/** The deadline a function sees (`getRemainingTimeInMillis`), on the wall clock its process reads. */
function wallDeadline(timeoutMs: number, began: number, now: number): number {
  return Date.now() + timeoutMs - (now - began);
}

function signalName(signal: NodeJS.Signals): string {
  switch (signal) {
    case 'SIGKILL':
      return 'killed';
    case 'SIGABRT':
      return 'aborted (core dumped)';
    case 'SIGSEGV':
      return 'segmentation fault';
    case 'SIGTERM':
      return 'terminated';
    default:
      return signal.toLowerCase();
  }
}
