// The Node.js runtime's loop, run by Cairn in a child process per warm function instance.
// Invocations arrive one JSON line at a time on stdin; each answer is one JSON line on fd 3.
// The function's own output (stdout, stderr, console) becomes its CloudWatch Logs events.
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { format } from 'node:util';

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerName = process.env._HANDLER ?? '';
let requestId = '';

function answer(message) {
  writeSync(3, JSON.stringify(message) + '\n');
}

// As Lambda's runtime: each console call is one log event, stamped with time, request id and level.
for (const [method, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'], ['debug', 'DEBUG'], ['trace', 'TRACE']]) {
  console[method] = (...args) => {
    const text = format(...args).replace(/\n/g, '\r');
    process.stdout.write(`${new Date().toISOString()}\t${requestId || 'undefined'}\t${level}\t${text}\n`);
  };
}

function describe(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: String(error.stack ?? '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

async function loadHandler() {
  const dot = handlerName.lastIndexOf('.');
  if (dot <= 0) {
    throw Object.assign(new Error(`Bad handler ${handlerName}: should be file.function`), { name: 'Runtime.MalformedHandlerName' });
  }
  const modulePath = handlerName.slice(0, dot);
  const fnPath = handlerName.slice(dot + 1);
  let mod;
  const { existsSync } = await import('node:fs');
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, modulePath + ext));
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw Object.assign(new Error(`Error: Cannot find module '${modulePath}'\nRequire stack:\n- ${taskRoot}`), { name: 'Runtime.ImportModuleError' });
  }
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    const d = describe(e);
    throw Object.assign(new Error(`${d.errorType}: ${d.errorMessage}`), { name: 'Runtime.ImportModuleError' });
  }
  const fn = mod[fnPath] ?? mod.default?.[fnPath];
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${fnPath} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

let handler;
let initError;
try {
  handler = await loadHandler();
} catch (e) {
  initError = describe(e);
}
answer({ ready: true });

function invoke(fn, event, context) {
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const callback = (err, result) => (err ? reject(err) : resolve(result));
      try {
        const r = fn(event, context, callback);
        if (r && typeof r.then === 'function') r.then(resolve, reject);
      } catch (e) {
        reject(e);
      }
    });
  }
  return Promise.resolve().then(() => fn(event, context));
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  const req = JSON.parse(line);
  requestId = req.requestId;
  if (initError) {
    answer({ requestId, error: initError });
    continue;
  }
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: req.invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: req.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, req.deadline - Date.now()),
  };
  try {
    const result = await invoke(handler, JSON.parse(req.payload), context);
    answer({ requestId, payload: result === undefined ? 'null' : JSON.stringify(result) });
  } catch (e) {
    const d = describe(e);
    console.error(`Invoke Error \t${JSON.stringify(d)}`);
    answer({ requestId, error: d });
  }
  requestId = '';
}
