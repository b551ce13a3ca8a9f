/**
 * `cairn validate-logs`: validates a trail's log files and digests with the arguments and
 * output of `aws cloudtrail validate-logs`, reading credentials, Region and endpoints as
 * the AWS SDK does (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, profiles...), so it
 * works against Cairn and against AWS alike. Cairn's additions: `--public-key FILE` (keys
 * from files instead of ListPublicKeys, for logs exported from AWS), `--local-dir DIR` (a
 * copy of the bucket's `AWSLogs/` tree), parallel fetches with a progress bar on a
 * terminal, and the checks the AWS CLI lacks (see integrity/validator.ts).
 *
 * With static credentials and an endpoint in the environment (what `cairn env` sets) the
 * calls go out through integrity/signed-http.ts (the SDK's signer over Node's keep-alive
 * connections); otherwise through the AWS SDK's clients, imported only then (they alone
 * resolve profiles, SSO, AWS's endpoints and redirects; importing them about doubles the
 * command's start-up).
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { systemClock } from '../platform/clock.js';
import { httpS3Source, localSource, s3Source, type ObjectSource } from '../integrity/sources.js';
import { errorOf, signedHttp, type SignedHttp, type StaticCredentials } from '../integrity/signed-http.js';
import { DEFAULT_CONCURRENCY, ValidationAbort, validateLogs, type PublicKeyMap } from '../integrity/validator.js';

/** The trail fields the command reads from DescribeTrails. */
interface TrailInfo {
  TrailARN?: string;
  S3BucketName?: string;
  S3KeyPrefix?: string;
  IsOrganizationTrail?: boolean;
}

/** The two CloudTrail calls the command makes, however they are sent. */
interface CloudTrailCalls {
  describeTrails(): Promise<TrailInfo[]>;
  listPublicKeys(from: number, to: number): Promise<PublicKeyMap>;
  close(): void;
}

const CLOUDTRAIL_TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';

/** CloudTrail's JSON protocol over signed HTTP. */
function cloudTrailOverHttp(http: SignedHttp, region: string): CloudTrailCalls {
  const call = async (operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const reply = await http.send({
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${CLOUDTRAIL_TARGET}.${operation}` },
      body: JSON.stringify(input),
      service: 'cloudtrail',
      region,
    });
    if (reply.status !== 200) throw errorOf(reply);
    const text = reply.body.toString('utf8');
    return text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  };
  return {
    async describeTrails() {
      const out = await call('DescribeTrails', {});
      return Array.isArray(out.trailList) ? (out.trailList as TrailInfo[]) : [];
    },
    async listPublicKeys(from, to) {
      // Timestamps go as epoch seconds, as the SDK sends them.
      const out = await call('ListPublicKeys', { StartTime: from / 1000, EndTime: to / 1000 });
      const keys: PublicKeyMap = new Map();
      const list = Array.isArray(out.PublicKeyList) ? (out.PublicKeyList as { Fingerprint?: unknown; Value?: unknown }[]) : [];
      for (const k of list) if (typeof k.Fingerprint === 'string' && typeof k.Value === 'string') keys.set(k.Fingerprint, Buffer.from(k.Value, 'base64'));
      return keys;
    },
    close() {
      http.close();
    },
  };
}

/** CloudTrail through the AWS SDK. */
function cloudTrailThroughSdk(config: { region: string; credentials?: StaticCredentials; endpoint?: string }): CloudTrailCalls {
  let client: Promise<{ client: CloudTrailClient; sdk: typeof import('@aws-sdk/client-cloudtrail') }> | undefined;
  const ready = () =>
    (client ??= import('@aws-sdk/client-cloudtrail').then((sdk) => ({
      sdk,
      client: new sdk.CloudTrailClient({
        region: config.region,
        ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
        ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
      }),
    })));
  return {
    async describeTrails() {
      const { client: c, sdk } = await ready();
      return (await c.send(new sdk.DescribeTrailsCommand({}))).trailList ?? [];
    },
    async listPublicKeys(from, to) {
      const { client: c, sdk } = await ready();
      const out = await c.send(new sdk.ListPublicKeysCommand({ StartTime: new Date(from), EndTime: new Date(to) }));
      const keys: PublicKeyMap = new Map();
      for (const k of out.PublicKeyList ?? []) if (k.Fingerprint !== undefined && k.Value !== undefined) keys.set(k.Fingerprint, k.Value);
      return keys;
    },
    close() {
      void client?.then(({ client: c }) => c.destroy(), () => undefined);
    },
  };
}

/**
 * Requests pipelined on one connection: the 64 files in flight by default go on 4
 * connections. Against a Cairn server this takes about half the CPU, at both ends, of a
 * connection per file (bench/validate-logs.bench.ts).
 */
const PIPELINE_DEPTH = 16;

/** Tries per request: AWS_MAX_ATTEMPTS as the SDK reads it, else its 3. */
function maxAttempts(env: NodeJS.ProcessEnv): number {
  const n = Number(env.AWS_MAX_ATTEMPTS);
  return Number.isInteger(n) && n > 0 ? n : 3;
}

/** The command's options, as commander parses them. */
export interface ValidateLogsOptions {
  trailArn: string;
  startTime: string;
  endTime?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  accountId?: string;
  verbose?: boolean;
  publicKey?: string[];
  localDir?: string;
  organizationId?: string;
  concurrency?: string;
}

/** Where the command writes and what environment it reads (tests pass their own). */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/**
 * Reads public keys from PEM (`RSA PUBLIC KEY` or `PUBLIC KEY`) or DER files. Each key is
 * known by the MD5 of its PKCS#1 DER and of its SPKI DER: CloudTrail's fingerprint is the
 * MD5 of the key's bytes as it lists them, in either form.
 */
export function readPublicKeyFiles(paths: readonly string[]): PublicKeyMap {
  const keys: PublicKeyMap = new Map();
  for (const path of paths) {
    const bytes = readFileSync(path);
    const text = bytes.toString('latin1');
    const blocks = [...text.matchAll(/-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/g)];
    const keyObjects = blocks.length > 0
      ? blocks.map((b) => createPublicKey(b[0]))
      : [tryDer(bytes, 'pkcs1') ?? createPublicKey({ key: bytes, format: 'der', type: 'spki' })];
    for (const key of keyObjects) {
      const pkcs1 = key.export({ format: 'der', type: 'pkcs1' });
      const spki = key.export({ format: 'der', type: 'spki' });
      keys.set(md5(pkcs1), pkcs1);
      keys.set(md5(spki), pkcs1);
    }
  }
  return keys;
}

function tryDer(bytes: Buffer, type: 'pkcs1'): ReturnType<typeof createPublicKey> | undefined {
  try {
    return createPublicKey({ key: bytes, format: 'der', type });
  } catch {
    return undefined;
  }
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Parses a time the way the AWS CLI accepts it (ISO 8601, with or without a zone: UTC when none). */
function parseTime(text: string): number {
  const trimmed = text.trim();
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(trimmed);
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/.test(trimmed);
  const ms = Date.parse(iso && !hasZone ? `${trimmed.replace(' ', 'T')}${trimmed.length === 10 ? 'T00:00:00' : ''}Z` : trimmed);
  if (!Number.isFinite(ms)) throw new ValidationAbort(`Unable to parse date value: ${text}`);
  return ms;
}

/** A small progress bar on stderr, redrawn at most every 100 ms. */
function progressBar(stream: CommandIo['stderr']): { update(done: number, total: number): void; clear(): void } {
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 30));
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} files`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

/**
 * Runs `cairn validate-logs`; resolves with the exit code: 0 when everything is valid,
 * 1 when anything is invalid, 255 when validation could not run (as the AWS CLI).
 */
export async function validateLogsCommand(opts: ValidateLogsOptions, io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const closers: (() => void)[] = [];
  try {
    const startTime = parseTime(opts.startTime);
    const endTime = opts.endTime !== undefined ? parseTime(opts.endTime) : Date.now();
    if (startTime > endTime) throw new ValidationAbort('Invalid time range specified: start-time must occur before end-time');
    if (!/^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/.test(opts.trailArn)) throw new ValidationAbort(`Invalid trail ARN provided: ${opts.trailArn}`);
    const arnRegion = opts.trailArn.split(':')[3] ?? 'us-east-1';
    const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? arnRegion;
    const endpoint = io.env.AWS_ENDPOINT_URL_S3 ?? io.env.AWS_ENDPOINT_URL;
    const cloudtrailEndpoint = io.env.AWS_ENDPOINT_URL_CLOUDTRAIL ?? io.env.AWS_ENDPOINT_URL;
    // The SDK reads the process environment itself; given explicitly, the command's own environment wins.
    const accessKeyId = io.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = io.env.AWS_SECRET_ACCESS_KEY;
    const sessionToken = io.env.AWS_SESSION_TOKEN;
    const credentials: StaticCredentials | undefined =
      accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) } : undefined;
    const requested = opts.concurrency !== undefined ? Number(opts.concurrency) : undefined;
    const concurrency = requested !== undefined && Number.isInteger(requested) && requested > 0 ? requested : undefined;
    // The files in flight share a few connections, each carrying a pipeline of requests.
    const inFlight = concurrency ?? DEFAULT_CONCURRENCY;
    const pipelining = Math.min(PIPELINE_DEPTH, inFlight);
    const http = (url: string, creds: StaticCredentials): SignedHttp =>
      signedHttp({ endpoint: url, credentials: creds, clock: systemClock, connections: Math.ceil(inFlight / pipelining), pipelining, maxAttempts: maxAttempts(io.env) });
    // The SDK's notice about its future Node.js support would break output parity with the AWS CLI.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    let cloudtrail: CloudTrailCalls | undefined;
    const cloudtrailCalls = (): CloudTrailCalls => {
      if (!cloudtrail) {
        const calls =
          credentials !== undefined && cloudtrailEndpoint !== undefined
            ? cloudTrailOverHttp(http(cloudtrailEndpoint, credentials), region)
            : cloudTrailThroughSdk({ region, ...(credentials !== undefined ? { credentials } : {}), ...(cloudtrailEndpoint !== undefined ? { endpoint: cloudtrailEndpoint } : {}) });
        closers.push(() => calls.close());
        cloudtrail = calls;
      }
      return cloudtrail;
    };

    let bucket = opts.s3Bucket;
    let prefix = opts.s3Prefix;
    const organizationId = opts.organizationId;
    if (bucket === undefined) {
      if (opts.localDir !== undefined) throw new ValidationAbort('--local-dir needs --s3-bucket: the bucket the files were copied from');
      const trails = await cloudtrailCalls().describeTrails();
      const trail = trails.find((t) => t.TrailARN === opts.trailArn);
      if (!trail?.S3BucketName) throw new ValidationAbort(`A trail could not be found for ${opts.trailArn}`);
      bucket = trail.S3BucketName;
      prefix = trail.S3KeyPrefix;
      if (trail.IsOrganizationTrail) {
        if (opts.accountId === undefined) throw new ValidationAbort("Missing required parameter for organization trail: '--account-id'");
        if (organizationId === undefined) throw new ValidationAbort('organization trail: give --organization-id (o-...) of the organization');
      }
    }

    const fileKeys = opts.publicKey && opts.publicKey.length > 0 ? readPublicKeyFiles(opts.publicKey) : undefined;
    const publicKeys = async (from: number, to: number): Promise<PublicKeyMap> => (fileKeys ? fileKeys : cloudtrailCalls().listPublicKeys(from, to));
    const source: ObjectSource =
      opts.localDir !== undefined
        ? localSource(opts.localDir, prefix)
        : credentials !== undefined && endpoint !== undefined
          ? httpS3Source(http(endpoint, credentials), region)
          : await sdkSource({ region, ...(credentials !== undefined ? { credentials } : {}), ...(endpoint !== undefined ? { endpoint } : {}) });
    closers.push(() => source.close?.());
    const bar = io.stderr.isTTY ? progressBar(io.stderr) : undefined;
    const result = await validateLogs({
      trailArn: opts.trailArn,
      startTime,
      endTime,
      bucket,
      ...(prefix !== undefined && prefix !== '' ? { prefix } : {}),
      ...(opts.accountId !== undefined ? { accountId: opts.accountId } : {}),
      ...(organizationId !== undefined ? { organizationId } : {}),
      sourceRegion: region,
      verbose: opts.verbose === true,
      source,
      publicKeys,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total) } : {}),
    });
    bar?.clear();
    for (const line of result.output) (line.stream === 'stdout' ? io.stdout : io.stderr).write(line.text);
    return result.exitCode;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`\n${message}\n`);
    return 255;
  } finally {
    for (const close of closers) close();
  }
}

/** Objects through the AWS SDK's S3 client, imported now. */
async function sdkSource(config: { region: string; credentials?: StaticCredentials; endpoint?: string }): Promise<ObjectSource> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return s3Source(
    new S3Client({
      region: config.region,
      followRegionRedirects: true,
      // Every file's SHA-256 is checked against its digest; S3's own checksums would only add work.
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
      ...(config.endpoint !== undefined ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    }),
  );
}
