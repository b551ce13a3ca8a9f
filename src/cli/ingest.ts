/**
 * `cairn ingest PATH...`: sends CloudTrail records from files (`{"Records":[...]}` log
 * files or JSON lines, gzip or not; `-` for standard input) to a Cairn server's
 * IngestEvents API, signed as the caller in the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, as `cairn env` sets them),
 * so the records join that caller's account event log. Retrying is safe: the server skips
 * eventIDs it already holds. Progress goes to stderr when it is a terminal.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { signedHttp, errorOf, type SignedHttp } from '../integrity/signed-http.js';
import { systemClock } from '../platform/clock.js';
import { INGEST_SIGNING_NAME, INGEST_TARGET_PREFIX } from '../services/ingest/names.js';

export interface IngestOptions {
  endpointUrl?: string;
  batchSize?: string;
}

export interface IngestIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Records per request: large enough to share one commit, small enough to stay far below the body limit. */
const DEFAULT_BATCH = 2000;
/** Requests in flight at once: one being parsed by the server while another commits. */
const IN_FLIGHT = 3;
/** A batch's body is sent before it grows past this many characters. */
const MAX_BATCH_CHARS = 8 * 1024 * 1024;

interface Totals {
  sent: number;
  ingested: number;
  duplicates: number;
  failed: number;
}

interface IngestReply {
  Ingested?: number;
  Duplicates?: number;
  Failed?: { Index?: number; EventID?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

class CommandError extends Error {}

/** Opens a path (or `-`) as text, gunzipping when the bytes start with gzip's magic number. */
async function openText(path: string, stdin: NodeJS.ReadableStream): Promise<Readable> {
  const raw: Readable = path === '-' ? Readable.from(stdin) : createReadStream(path);
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await iterator.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.isBuffer(first.value) ? first.value : Buffer.from(first.value);
  const rest = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  );
  return head[0] === 0x1f && head[1] === 0x8b ? rest.pipe(createGunzip()) : rest;
}

/**
 * The records of one file, in order: a whole `{"Records":[...]}` document (a CloudTrail
 * log file), or one JSON object per line.
 */
async function* recordsOf(path: string, stdin: NodeJS.ReadableStream): AsyncGenerator<unknown> {
  const text = await openText(path, stdin);
  text.setEncoding('utf8');
  const lines = createInterface({ input: text, crlfDelay: Infinity });
  let document: string[] | undefined;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (document) {
      document.push(line);
      continue;
    }
    const trimmed = line.trim();
    if (trimmed === '') continue;
    // A log file starts with its Records member; anything else is read as JSON lines.
    if (lineNo === 1 && /^\{\s*("Records"\s*:|$)/.test(trimmed)) {
      document = [line];
      continue;
    }
    try {
      yield JSON.parse(trimmed) as unknown;
    } catch {
      throw new CommandError(`${path}:${lineNo}: not a JSON record`);
    }
  }
  if (document) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(document.join('\n'));
    } catch {
      throw new CommandError(`${path}: not valid JSON`);
    }
    const records = typeof parsed === 'object' && parsed !== null && 'Records' in parsed ? (parsed).Records : undefined;
    if (!Array.isArray(records)) throw new CommandError(`${path}: a log file needs a "Records" list`);
    yield* records;
  }
}

/** Runs `cairn ingest`; resolves with the exit code (1 when any record was refused). */
export async function ingestCommand(paths: string[], opts: IngestOptions, io: IngestIo): Promise<number> {
  const endpoint = opts.endpointUrl ?? io.env.AWS_ENDPOINT_URL;
  const accessKeyId = io.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = io.env.AWS_SECRET_ACCESS_KEY;
  if (endpoint === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    io.stderr.write('cairn ingest: set AWS_ENDPOINT_URL (or --endpoint-url), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (eval "$(cairn env)")\n');
    return 2;
  }
  if (paths.length === 0) {
    io.stderr.write('cairn ingest: name at least one file, or - for standard input\n');
    return 2;
  }
  const batchSize = Math.min(10_000, Math.max(1, Number(opts.batchSize ?? DEFAULT_BATCH) || DEFAULT_BATCH));
  const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const sessionToken = io.env.AWS_SESSION_TOKEN;
  const http: SignedHttp = signedHttp({
    endpoint,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) },
    clock: systemClock,
    connections: IN_FLIGHT,
    maxAttempts: 5,
  });
  const totals: Totals = { sent: 0, ingested: 0, duplicates: 0, failed: 0 };
  const progress = io.stderr.isTTY === true;
  const started = Date.now();
  const show = (): void => {
    if (!progress) return;
    const seconds = (Date.now() - started) / 1000;
    io.stderr.write(`\r${totals.ingested} ingested, ${totals.duplicates} duplicates, ${totals.failed} refused (${Math.round(totals.sent / Math.max(seconds, 0.001))} records/s)`);
  };

  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  const send = (path: string, first: number, records: string[]): void => {
    const body = `{"Records":[${records.join(',')}]}`;
    const done = http
      .send({
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${INGEST_TARGET_PREFIX}.IngestEvents` },
        body,
        service: INGEST_SIGNING_NAME,
        region,
      })
      .then((reply) => {
        if (reply.status !== 200) {
          const error = errorOf(reply);
          throw new CommandError(`${error.name}: ${error.message}`);
        }
        const result = JSON.parse(reply.body.toString('utf8')) as IngestReply;
        totals.sent += records.length;
        totals.ingested += result.Ingested ?? 0;
        totals.duplicates += result.Duplicates ?? 0;
        for (const f of result.Failed ?? []) {
          totals.failed++;
          io.stderr.write(`${progress ? '\n' : ''}${path}: record ${first + (f.Index ?? 0) + 1}${f.EventID ? ` (${f.EventID})` : ''}: ${f.ErrorCode}: ${f.ErrorMessage}\n`);
        }
        show();
      })
      .catch((e: unknown) => {
        failure ??= e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  try {
    for (const path of paths) {
      let batch: string[] = [];
      let chars = 0;
      let first = 0;
      let index = 0;
      for await (const record of recordsOf(path, io.stdin)) {
        if (failure) break;
        const text = JSON.stringify(record);
        if (batch.length >= batchSize || (batch.length > 0 && chars + text.length > MAX_BATCH_CHARS)) {
          send(path, first, batch);
          batch = [];
          chars = 0;
          first = index;
          while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        }
        batch.push(text);
        chars += text.length + 1;
        index++;
      }
      if (batch.length > 0 && !failure) send(path, first, batch);
      while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      if (failure) break;
    }
    await Promise.all(inFlight);
  } catch (e) {
    failure ??= e instanceof Error ? e : new Error(String(e));
  } finally {
    http.close();
  }
  if (progress) io.stderr.write('\n');
  io.stdout.write(`${totals.ingested} ingested, ${totals.duplicates} duplicates, ${totals.failed} refused\n`);
  if (failure) {
    io.stderr.write(`cairn ingest: ${failure.message}\n`);
    return 1;
  }
  return totals.failed > 0 ? 1 : 0;
}
