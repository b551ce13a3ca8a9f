/**
 * Cairn's stand-in for AWS Lambda as a notification target: a "function" is named by a
 * Lambda-style ARN and is a local command, an HTTP endpoint, or (in tests) an in-process
 * handler. SNS `lambda` subscriptions and EventBridge targets invoke them through the
 * {@link Functions} seam; the composition root fills the {@link FunctionRegistry}.
 */
import { spawn } from 'node:child_process';
import { AwsError } from '../platform/errors.js';

/** Invokes a function by ARN with a JSON payload; rejects when the invocation fails. */
export interface Functions {
  invoke(arn: string, payload: unknown): Promise<void>;
}

/** What a registered function does with its payload. */
export type FunctionHandler = (payload: unknown) => Promise<void> | void;

/** A function ARN, `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`. */
export const FUNCTION_ARN = /^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$/;

/**
 * Functions by ARN.
 *
 * @example
 * const functions = new FunctionRegistry();
 * functions.register('arn:aws:lambda:us-east-1:123456789012:function:audit', (event) => { seen.push(event); });
 * functions.register(arn2, commandFunction('/usr/local/bin/on-alarm', []));
 */
export class FunctionRegistry implements Functions {
  private readonly handlers = new Map<string, FunctionHandler>();

  register(arn: string, handler: FunctionHandler): void {
    this.handlers.set(arn, handler);
  }

  unregister(arn: string): void {
    this.handlers.delete(arn);
  }

  has(arn: string): boolean {
    return this.handlers.has(arn);
  }

  async invoke(arn: string, payload: unknown): Promise<void> {
    const handler = this.handlers.get(arn);
    if (!handler) throw new AwsError({ code: 'ResourceNotFoundException', message: `Function not found: ${arn}`, status: 404 });
    await handler(payload);
  }
}

/** A function that runs a local command with the payload as JSON on its stdin; exit code 0 is success. */
export function commandFunction(command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): FunctionHandler {
  return (payload) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(command, [...args], { stdio: ['pipe', 'ignore', 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 4096) stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${String(code)}: ${stderr.trim()}`))));
      child.stdin.end(JSON.stringify(payload));
    });
}

/** A function that POSTs the payload as JSON to a URL; any 2xx answer is success. */
export function httpFunction(url: string, opts: { timeoutMs?: number } = {}): FunctionHandler {
  return async (payload) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    await res.arrayBuffer();
    if (res.status < 200 || res.status > 299) throw new Error(`${url} answered ${res.status}`);
  };
}
