/**
 * Log file integrity validation, shared by `cairn validate-logs` and the tests: walks a
 * trail's digest chain backwards from the newest digest exactly as `aws cloudtrail
 * validate-logs` does (same listing range, same order, same output lines and exit code),
 * but fetches digests and log files in parallel (every listed digest at once, each log
 * file as soon as a digest naming it arrives, before the walk gets there; results are
 * still taken in the CLI's order), and then checks what the AWS CLI does not: each
 * digest's recorded hash and signature of its predecessor, digests missing from the chain
 * where the CLI's skip-ahead hides them (two or more consecutive digests deleted), and log
 * files in the bucket for a period the chain covers that no digest lists.
 */
import type { KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  basicTime,
  digestFolder,
  digestKeyTime,
  logFileKeyTime,
  logFolder,
  publicKeyFromDer,
  sha256Hex,
  signingString,
  verifyDigest,
} from './digest.js';
import type { ObjectSource } from './sources.js';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
/** Files read at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 64;

/** Public keys by fingerprint: PKCS#1 (or SPKI) DER bytes. */
export type PublicKeyMap = Map<string, Uint8Array>;

/** What to validate and where from. */
export interface ValidateOptions {
  trailArn: string;
  startTime: number;
  endTime: number;
  /** The bucket holding the digests, and the trail's key prefix. */
  bucket: string;
  prefix?: string;
  /** The account whose files are validated (the ARN's unless given). */
  accountId?: string;
  /** The Region whose digests are validated (the AWS CLI's own Region). */
  sourceRegion: string;
  organizationId?: string;
  verbose: boolean;
  source: ObjectSource;
  /** ListPublicKeys for a time range (ms): keys by fingerprint. */
  publicKeys: (from: number, to: number) => Promise<PublicKeyMap>;
  /** Files read at once (default 64: the more at once, the less each costs a Cairn server, which commits its records in groups). */
  concurrency?: number;
  /** Told as files are checked, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
  /** Also run the checks the AWS CLI lacks (default true). */
  thorough?: boolean;
}

/** One output line, in order, on the stream the AWS CLI writes it to. */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Totals, as the summary reports them. */
export interface ValidationCounts {
  validDigests: number;
  invalidDigests: number;
  validBackfillDigests: number;
  invalidBackfillDigests: number;
  validLogs: number;
  invalidLogs: number;
  /** Digests read offline whose signature could not be checked (the newest of a chain). */
  unverifiedDigests: number;
}

/** A validation's outcome: the exact output, totals, and the exit code (1 on anything invalid). */
export interface ValidationResult {
  output: OutputLine[];
  counts: ValidationCounts;
  exitCode: number;
}

/** A failure that stops validation (the AWS CLI's uncaught errors): exit 255 with the message. */
export class ValidationAbort extends Error {}

interface DigestDoc {
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  previousDigestSignature: string | null;
  previousDigestS3Bucket?: string | null;
  previousDigestS3Object?: string | null;
  previousDigestHashValue?: string | null;
  logFiles?: { s3Bucket: string; s3Object: string; hashValue: string }[] | null;
}

interface Fetched {
  kind: 'found' | 'missing' | 'format';
  raw?: Buffer;
  doc?: Record<string, unknown>;
  metadata?: Record<string, string>;
}

type Loaded =
  | { kind: 'valid'; bucket: string; key: string; doc: DigestDoc; raw: Buffer; signature: string | undefined }
  | { kind: 'missing' }
  | { kind: 'invalid'; message: string };

type Event =
  | { kind: 'digest'; backfill: boolean; bucket: string; key: string; logs: LogRef[] }
  | { kind: 'error'; text: string };

interface LogRef {
  bucket: string;
  key: string;
  hash: string;
  result?: 'valid' | 'mismatch' | 'missing' | 'format';
}

/** A log file as read: its SHA-256 (uncompressed), or why there is none. */
type LogRead = { kind: 'found'; hash: string } | { kind: 'missing' } | { kind: 'format' } | { kind: 'failed'; error: unknown };

const REQUIRED = ['digestPublicKeyFingerprint', 'digestS3Bucket', 'digestS3Object', 'previousDigestSignature', 'digestEndTime', 'digestStartTime'];

/** `2015-01-08T05:21:42Z`, as the AWS CLI displays times. */
export function displayTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The 16-character time in a digest key (the AWS CLI slices it the same way). */
function keyDate(key: string): string {
  return key.endsWith('_backfill.json.gz') ? key.slice(-33, -17) : key.slice(-24, -8);
}

function parseKeyDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Runs tasks with at most `limit` at once. Urgent ones (listings, digests: the chain walk
 * waits on them) go before the log files queued behind them.
 */
class Limiter {
  private active = 0;
  private readonly urgent: (() => void)[] = [];
  private readonly queued: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>, urgent: boolean): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => (urgent ? this.urgent : this.queued).push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next task waiting, else frees up.
      const next = this.urgent.shift() ?? this.queued.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Validates a trail's digests and log files in a time range.
 *
 * @example
 * const result = await validateLogs({ trailArn, startTime, endTime: Date.now(), bucket, sourceRegion: 'us-east-1',
 *   verbose: true, source: s3Source(s3), publicKeys: (from, to) => listPublicKeys(cloudtrail, from, to) });
 * for (const line of result.output) process[line.stream].write(line.text);
 */
export async function validateLogs(opts: ValidateOptions): Promise<ValidationResult> {
  return new Validation(opts).run();
}

class Validation {
  private readonly accountId: string;
  private readonly trailName: string;
  private readonly homeRegion: string;
  private readonly limiter: Limiter;
  private readonly cache = new Map<string, Promise<Fetched>>();
  private readonly logReads = new Map<string, Promise<LogRead>>();
  private readonly digestLists = new Map<string, Promise<[string[], string[]]>>();
  private readonly logDays = new Map<string, Promise<string[]>>();
  private readonly keyObjects = new Map<string, KeyObject | null>();
  private readonly events: Event[] = [];
  private readonly counts: ValidationCounts = {
    validDigests: 0,
    invalidDigests: 0,
    validBackfillDigests: 0,
    invalidBackfillDigests: 0,
    validLogs: 0,
    invalidLogs: 0,
    unverifiedDigests: 0,
  };
  private foundStart: number | undefined;
  private foundEnd: number | undefined;
  /** Every valid (standard) digest met, in traversal order (newest first). */
  private readonly valid: { bucket: string; key: string; doc: DigestDoc; raw: Buffer; signature: string | undefined; missingAfter?: string }[] = [];
  private done = 0;
  private total = 0;

  constructor(private readonly opts: ValidateOptions) {
    if (!/^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/.test(opts.trailArn)) throw new ValidationAbort(`Invalid trail ARN provided: ${opts.trailArn}`);
    const parts = opts.trailArn.split(':');
    this.homeRegion = parts[3] ?? '';
    this.accountId = opts.accountId ?? parts[4] ?? '';
    this.trailName = opts.trailArn.split('/').at(-1) ?? '';
    this.limiter = new Limiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
  }

  async run(): Promise<ValidationResult> {
    const { opts } = this;
    const out: OutputLine[] = [];
    out.push({ stream: 'stdout', text: `Validating log files for trail ${opts.trailArn} between ${displayTime(opts.startTime)} and ${displayTime(opts.endTime)}\n\n` });
    await this.traverse(false);
    await this.traverse(true);
    // The extra checks only list and read digests: they run while the log files come in.
    // A failure of the log files' reads is still the one reported when both fail.
    const extra = opts.thorough !== false ? this.extraChecks() : Promise.resolve();
    extra.catch(() => undefined);
    await this.checkLogs();
    await extra;
    // The AWS CLI's output, in its order: each digest, then its log files.
    let doubleSpaced = true;
    const status = (text: string, error: boolean): void => {
      if (error) {
        out.push({ stream: 'stderr', text: doubleSpaced ? `${text}\n\n` : `\n${text}\n\n` });
        doubleSpaced = true;
      } else if (opts.verbose) {
        doubleSpaced = false;
        out.push({ stream: 'stdout', text: `${text}\n` });
      }
    };
    for (const e of this.events) {
      if (e.kind === 'error') {
        status(e.text, true);
        continue;
      }
      status(`${e.backfill ? '(backfill) ' : ''}Digest file\ts3://${e.bucket}/${e.key}\tvalid`, false);
      for (const log of e.logs) {
        const where = `Log file\ts3://${log.bucket}/${log.key}`;
        if (log.result === 'valid') status(`${where}\tvalid`, false);
        else if (log.result === 'mismatch') status(`${where}\tINVALID: hash value doesn't match`, true);
        else if (log.result === 'missing') status(`${where}\tINVALID: not found`, true);
        else status(`${where}\tINVALID: invalid format`, true);
      }
    }
    for (const text of this.extraLines) status(text, true);
    if (!doubleSpaced) out.push({ stream: 'stdout', text: '\n' });
    out.push(...this.summary());
    const c = this.counts;
    const invalid = c.invalidDigests + c.invalidBackfillDigests + c.invalidLogs;
    return { output: out, counts: c, exitCode: invalid > 0 ? 1 : 0 };
  }

  private readonly extraLines: string[] = [];

  private summary(): OutputLine[] {
    const { opts, counts: c } = this;
    let text = `Results requested for ${displayTime(opts.startTime)} to ${displayTime(opts.endTime)}\n`;
    const validTotal = c.validDigests + c.validBackfillDigests;
    const invalidTotal = c.invalidDigests + c.invalidBackfillDigests;
    if (validTotal === 0 && invalidTotal === 0 && c.unverifiedDigests === 0) {
      return [{ stream: 'stdout', text: `${text}No digests found\n` }];
    }
    if (this.foundStart === undefined || this.foundEnd === undefined) text += 'No valid digests found in range\n';
    else text += `Results found for ${displayTime(this.foundStart)} to ${displayTime(this.foundEnd)}:\n`;
    const ratio = (valid: number, invalid: number, name: string): void => {
      const total = valid + invalid;
      if (total <= 0) return;
      text += `\n${valid}/${total} ${name} files valid`;
      if (invalid > 0) text += `, ${invalid}/${total} ${name} files INVALID`;
    };
    ratio(c.validDigests, c.invalidDigests, 'digest');
    ratio(c.validBackfillDigests, c.invalidBackfillDigests, 'backfill digest');
    ratio(c.validLogs, c.invalidLogs, 'log');
    if (c.unverifiedDigests > 0) text += `\n${c.unverifiedDigests} digest files not verifiable offline (their signature is only in S3 object metadata)`;
    text += '\n';
    return [{ stream: 'stdout', text }];
  }

  // ---- listing and fetching ----

  private digestPrefix(prefix: string | undefined): string {
    return digestFolder({
      accountId: this.accountId,
      region: this.opts.sourceRegion,
      ...(prefix !== undefined ? { s3KeyPrefix: prefix } : {}),
      ...(this.opts.organizationId !== undefined ? { organizationId: this.opts.organizationId } : {}),
    });
  }

  /** The digest keys in range, as the AWS CLI lists them: [standard, backfill]. */
  private async listDigests(bucket: string, prefix: string | undefined): Promise<[string[], string[]]> {
    const { opts } = this;
    const markerTime = opts.startTime - MINUTE;
    const folder = this.digestPrefix(prefix);
    const d = new Date(markerTime);
    const ymd = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
    const src = opts.sourceRegion;
    const marker = `${folder}${ymd}/${this.accountId}_CloudTrail-Digest_${src}_${this.trailName}_${this.homeRegion}_${basicTime(markerTime)}.json.gz`;
    const org = opts.organizationId !== undefined ? `${escapeRegex(opts.organizationId)}/` : '';
    const acct = escapeRegex(this.accountId);
    const pattern = new RegExp(
      `^${prefix ? `${escapeRegex(prefix)}/` : ''}AWSLogs/${org}${acct}/CloudTrail\\-Digest/${escapeRegex(src)}/\\d+/\\d+/\\d+/${acct}_CloudTrail\\-Digest_${escapeRegex(src)}_${escapeRegex(this.trailName)}_${escapeRegex(this.homeRegion)}_.+(?:_backfill)?\\.json\\.gz$`,
    );
    const from = basicTime(opts.startTime);
    const to = basicTime(opts.endTime + HOUR);
    const standard: string[] = [];
    const backfill: string[] = [];
    for (const key of await this.list(bucket, folder.slice(0, -1), marker)) {
      if (!pattern.test(key)) continue;
      const date = keyDate(key);
      if (date > to) break;
      if (date < from) continue;
      (key.endsWith('_backfill.json.gz') ? backfill : standard).push(key);
    }
    return [standard, backfill];
  }

  /** Lists keys; `urgent` (the default) for listings the chain walk waits on. */
  private list(bucket: string, prefix: string, startAfter?: string, urgent = true): Promise<string[]> {
    return this.limiter.run(() => this.opts.source.list(bucket, prefix, startAfter), urgent);
  }

  /** The digest keys of `bucket` in range, listed once for both walks. */
  private digestsIn(bucket: string): Promise<[string[], string[]]> {
    let p = this.digestLists.get(bucket);
    if (!p) {
      p = this.listDigests(bucket, this.opts.prefix);
      this.digestLists.set(bucket, p);
      if (bucket === this.opts.bucket && this.opts.thorough !== false) p.then(([standard]) => this.listLogDaysOf(standard), () => undefined);
    }
    return p;
  }

  /**
   * Starts listing the log folders of the days `digests` cover, which the extra checks
   * read: listed now, they arrive while the digests are read, not after.
   */
  private listLogDaysOf(digests: string[]): void {
    const times = digests.map((k) => parseKeyDate(keyDate(k))).filter((t) => Number.isFinite(t));
    if (times.length === 0) return;
    const from = Math.max(this.opts.startTime, Math.min(...times) - HOUR);
    const to = Math.min(this.opts.endTime, Math.max(...times));
    for (const day of dayFolders(from, to)) this.logDay(day).catch(() => undefined);
  }

  /** The keys of one day's log folder in the trail's bucket, listed once. */
  private logDay(day: string): Promise<string[]> {
    let p = this.logDays.get(day);
    if (!p) {
      const { opts } = this;
      const folder = logFolder({
        accountId: this.accountId,
        region: opts.sourceRegion,
        ...(opts.prefix !== undefined ? { s3KeyPrefix: opts.prefix } : {}),
        ...(opts.organizationId !== undefined ? { organizationId: opts.organizationId } : {}),
      });
      // Behind the digests (the walk waits on those), ahead of the log files they name.
      p = this.list(opts.bucket, `${folder}${day}/`, undefined, false);
      this.logDays.set(day, p);
    }
    return p;
  }

  private fetch(bucket: string, key: string): Promise<Fetched> {
    const id = `${bucket}/${key}`;
    let p = this.cache.get(id);
    if (!p) {
      this.total++;
      p = this.limiter.run(async (): Promise<Fetched> => {
        const obj = await this.opts.source.get(bucket, key);
        this.progress();
        if (!obj) return { kind: 'missing' };
        try {
          const raw = gunzipSync(obj.body);
          const doc: unknown = JSON.parse(raw.toString('utf8'));
          if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { kind: 'format', metadata: obj.metadata };
          return { kind: 'found', raw, doc: doc as Record<string, unknown>, metadata: obj.metadata };
        } catch {
          return { kind: 'format', metadata: obj.metadata };
        }
      }, true);
      this.cache.set(id, p);
    }
    return p;
  }

  /**
   * A log file's hash, read once. Never rejects: a read that failed is kept as such and
   * stops validation only if the file's result is needed (see checkLogs).
   */
  private readLog(bucket: string, key: string): Promise<LogRead> {
    const id = `${bucket}/${key}`;
    let p = this.logReads.get(id);
    if (!p) {
      this.total++;
      p = this.limiter
        .run(async (): Promise<LogRead> => {
          const obj = await this.opts.source.get(bucket, key);
          this.progress();
          if (!obj) return { kind: 'missing' };
          try {
            return { kind: 'found', hash: sha256Hex(gunzipSync(obj.body)) };
          } catch {
            return { kind: 'format' };
          }
        }, false)
        .catch((error: unknown): LogRead => ({ kind: 'failed', error }));
      this.logReads.set(id, p);
    }
    return p;
  }

  /**
   * Starts reading the log files a fetched digest lists, before the walk reaches it: the
   * AWS CLI reads them after the digest checks out, and so are they counted (checkLogs);
   * reading early only overlaps the waits.
   */
  private readLogsOf(fetched: Fetched): void {
    const files = fetched.doc?.logFiles;
    if (!Array.isArray(files)) return;
    for (const f of files as { s3Bucket?: unknown; s3Object?: unknown }[]) {
      if (typeof f.s3Bucket === 'string' && typeof f.s3Object === 'string') void this.readLog(f.s3Bucket, f.s3Object);
    }
  }

  private progress(): void {
    this.done++;
    this.opts.onProgress?.(this.done, Math.max(this.total, this.done));
  }

  private publicKey(der: Uint8Array | undefined, fingerprint: string): KeyObject | null {
    if (!der) return null;
    if (!this.keyObjects.has(fingerprint)) {
      try {
        this.keyObjects.set(fingerprint, publicKeyFromDer(der));
      } catch {
        this.keyObjects.set(fingerprint, null);
      }
    }
    return this.keyObjects.get(fingerprint) ?? null;
  }

  // ---- the chain, as the AWS CLI walks it ----

  private async loadKeys(from: number, to: number): Promise<PublicKeyMap> {
    const keys = await this.opts.publicKeys(from, to);
    if (keys.size === 0) throw new ValidationAbort(`No public keys found between ${displayTime(from)} and ${displayTime(to)}`);
    return keys;
  }

  private async traverse(backfill: boolean): Promise<void> {
    const { opts } = this;
    let bucket = opts.bucket;
    const listFor = async (b: string): Promise<string[]> => {
      const l = await this.digestsIn(b);
      return [...(backfill ? l[1] : l[0])];
    };
    // The keys are asked for while the digests are listed; they are needed only if there are digests.
    const loading = backfill ? undefined : this.loadKeys(opts.startTime, opts.endTime + 2 * HOUR);
    loading?.catch(() => undefined);
    let digests = await listFor(bucket);
    if (digests.length === 0) return;
    // Fetch every listed digest, and the log files each lists, at once; the walk below
    // then runs on what came back.
    for (const key of digests) {
      this.fetch(bucket, key).then(
        (f) => this.readLogsOf(f),
        () => undefined,
      );
    }
    const keys: PublicKeyMap = loading ? await loading : new Map<string, Uint8Array>();
    let next = lastDigest(digests);
    let lastStart = next?.date ?? 0;
    let hint: string | undefined;
    let missingAfter: string | undefined;
    const counter = (ok: boolean): void => {
      if (backfill) {
        if (ok) this.counts.validBackfillDigests++;
        else this.counts.invalidBackfillDigests++;
      } else if (ok) this.counts.validDigests++;
      else this.counts.invalidDigests++;
    };
    const tag = backfill ? '(backfill) ' : '';
    while (next && opts.startTime <= lastStart) {
      const key = next.key;
      const loaded = await this.loadDigest(bucket, key, keys, backfill, hint);
      if (loaded.kind === 'valid') {
        const doc = loaded.doc;
        lastStart = Date.parse(doc.digestStartTime);
        this.trackFound(doc);
        if (loaded.signature === undefined) this.counts.unverifiedDigests++;
        else counter(true);
        const logs = (doc.logFiles ?? []).map((f) => ({ bucket: f.s3Bucket, key: f.s3Object, hash: f.hashValue }));
        this.events.push({ kind: 'digest', backfill, bucket, key, logs });
        if (!backfill) this.valid.push({ bucket, key, doc, raw: loaded.raw, signature: loaded.signature, ...(missingAfter !== undefined ? { missingAfter } : {}) });
        missingAfter = undefined;
        const prevBucket = doc.previousDigestS3Bucket ?? null;
        const prevKey = doc.previousDigestS3Object ?? null;
        if (prevBucket === null || prevKey === null) {
          next = findBefore(digests, key);
          hint = undefined;
          if (next) {
            this.events.push({
              kind: 'error',
              text: `${tag}No log files were delivered by CloudTrail between ${displayTime(next.date)} and ${displayTime(lastStart)}`,
            });
          }
        } else {
          hint = doc.previousDigestSignature ?? undefined;
          next = { key: prevKey, date: parseKeyDate(keyDate(prevKey)) };
          if (prevBucket !== bucket) {
            bucket = prevBucket;
            digests = await listFor(bucket);
          }
        }
        continue;
      }
      counter(false);
      if (loaded.kind === 'missing') {
        this.events.push({ kind: 'error', text: `${tag}Digest file\ts3://${bucket}/${key}\tINVALID: not found` });
        missingAfter = key;
      } else {
        this.events.push({ kind: 'error', text: `${tag}${loaded.message}` });
        missingAfter = undefined;
      }
      hint = undefined;
      next = findBefore(digests, key);
    }
  }

  private trackFound(doc: DigestDoc): void {
    const start = Math.max(Date.parse(doc.digestStartTime), this.opts.startTime);
    if (this.foundStart === undefined || start < this.foundStart) this.foundStart = start;
    const end = Math.min(Date.parse(doc.digestEndTime), this.opts.endTime);
    if (this.foundEnd === undefined || end > this.foundEnd) this.foundEnd = end;
  }

  /** Loads and checks one digest; the AWS CLI's messages for each way it can fail. */
  private async loadDigest(bucket: string, key: string, keys: PublicKeyMap, backfill: boolean, hint: string | undefined): Promise<Loaded> {
    const where = `Digest file\ts3://${bucket}/${key}`;
    const fetched = await this.fetch(bucket, key);
    if (fetched.kind === 'missing') return { kind: 'missing' };
    if (fetched.kind === 'format' || !fetched.doc || !fetched.raw) return { kind: 'invalid', message: `${where}\tINVALID: invalid format` };
    const metadata = fetched.metadata ?? {};
    let signature: string | undefined = metadata.signature;
    if (this.opts.source.offline) {
      // A local copy has no metadata: the successor's record of this digest's signature stands in.
      signature ??= hint;
    } else if (metadata.signature === undefined || metadata['signature-algorithm'] === undefined) {
      return { kind: 'invalid', message: `${where}\tINVALID: signature verification failed` };
    }
    let backfillTime: number | undefined;
    if (backfill) {
      const stamp = metadata['backfill-generation-timestamp'];
      if (stamp === undefined && !this.opts.source.offline) return { kind: 'invalid', message: `${where}\tINVALID: invalid format` };
      backfillTime = stamp !== undefined ? Date.parse(stamp) : undefined;
    }
    const doc = fetched.doc;
    for (const k of REQUIRED) if (!(k in doc)) return { kind: 'invalid', message: `${where}\tINVALID: invalid format` };
    if (doc.digestS3Bucket !== bucket || doc.digestS3Object !== key) {
      return { kind: 'invalid', message: `${where}\tINVALID: has been moved from its original location` };
    }
    const fingerprint = String(doc.digestPublicKeyFingerprint);
    if (!keys.has(fingerprint) && backfill && backfillTime !== undefined && Number.isFinite(backfillTime)) {
      for (const [fp, der] of await this.opts.publicKeys(backfillTime - HOUR, backfillTime + HOUR)) keys.set(fp, der);
    }
    if (!keys.has(fingerprint)) {
      return { kind: 'invalid', message: `${where}\tINVALID: public key not found in region ${this.homeRegion} for fingerprint ${fingerprint}` };
    }
    const typed = doc as unknown as DigestDoc;
    if (signature === undefined) return { kind: 'valid', bucket, key, doc: typed, raw: fetched.raw, signature: undefined };
    const publicKey = this.publicKey(keys.get(fingerprint), fingerprint);
    if (!publicKey) return { kind: 'invalid', message: `${where}\tINVALID: Unable to load PKCS #1 key with fingerprint ${fingerprint}` };
    const toSign = signingString(
      {
        digestEndTime: String(doc.digestEndTime),
        digestS3Bucket: String(doc.digestS3Bucket),
        digestS3Object: String(doc.digestS3Object),
        previousDigestSignature: textOf(doc.previousDigestSignature),
      },
      fetched.raw,
    );
    if (!verifyDigest(publicKey, toSign, signature)) return { kind: 'invalid', message: `${where}\tINVALID: signature verification failed` };
    return { kind: 'valid', bucket, key, doc: typed, raw: fetched.raw, signature };
  }

  // ---- log files ----

  private async checkLogs(): Promise<void> {
    const unique = new Map<string, { read: Promise<LogRead>; refs: LogRef[] }>();
    for (const e of this.events) {
      if (e.kind !== 'digest') continue;
      for (const log of e.logs) {
        const id = `${log.bucket}/${log.key}`;
        const entry = unique.get(id) ?? { read: this.readLog(log.bucket, log.key), refs: [] };
        entry.refs.push(log);
        unique.set(id, entry);
      }
    }
    for (const { read, refs } of unique.values()) {
      const got = await read;
      // A file that could not be read (access denied, the endpoint gone) stops validation, as the AWS CLI's errors do.
      if (got.kind === 'failed') throw got.error;
      for (const ref of refs) {
        ref.result = got.kind === 'found' ? (got.hash === ref.hash ? 'valid' : 'mismatch') : got.kind;
        if (ref.result === 'valid') this.counts.validLogs++;
        else this.counts.invalidLogs++;
      }
    }
  }

  // ---- what the AWS CLI misses ----

  private async extraChecks(): Promise<void> {
    const valid = this.valid;
    const byId = new Map(valid.map((d) => [`${d.bucket}/${d.key}`, d]));
    // The hash and signature each digest recorded of its predecessor.
    for (const d of valid) {
      const prevKey = d.doc.previousDigestS3Object;
      const prevBucket = d.doc.previousDigestS3Bucket;
      if (!prevKey || !prevBucket) continue;
      const prev = byId.get(`${prevBucket}/${prevKey}`);
      if (!prev) continue;
      if (d.doc.previousDigestHashValue !== sha256Hex(prev.raw) || (prev.signature !== undefined && d.doc.previousDigestSignature !== prev.signature)) {
        this.counts.invalidDigests++;
        this.extraLines.push(`Digest file\ts3://${prev.bucket}/${prev.key}\tINVALID: does not match the hash and signature recorded by its successor s3://${d.bucket}/${d.key}`);
      }
    }
    // Digests the walk skipped over: after a missing digest the AWS CLI jumps to the next
    // listed one, so a second missing digest right before it goes unreported. The
    // interval between digests tells how many are gone.
    const spans = valid.map((d) => Date.parse(d.doc.digestEndTime) - Date.parse(d.doc.digestStartTime)).filter((n) => n > 0);
    const interval = spans.length > 0 ? Math.max(...spans) : HOUR;
    for (const d of valid) {
      if (d.missingAfter === undefined) continue;
      const missingEnd = digestKeyTime(d.missingAfter);
      const end = Date.parse(d.doc.digestEndTime);
      if (missingEnd === undefined || missingEnd - end <= interval * 1.5) continue;
      this.counts.invalidDigests++;
      this.extraLines.push(
        `Digest file\t(between s3://${d.bucket}/${d.key} and s3://${d.bucket}/${d.missingAfter})\tINVALID: not found (the chain has no digest from ${displayTime(end)} to ${displayTime(missingEnd - interval)})`,
      );
    }
    await this.findUnlistedLogs();
  }

  /**
   * Log files in the trail's folder for a period its digests cover that no digest lists
   * (the trail's own, or another trail's that shares the folder).
   */
  private async findUnlistedLogs(): Promise<void> {
    const { opts } = this;
    if (this.valid.length === 0) return;
    // The periods the chain covers: from each chain's first digest to its last.
    const ordered = [...this.valid].sort((a, b) => Date.parse(a.doc.digestEndTime) - Date.parse(b.doc.digestEndTime));
    const segments: { start: number; end: number }[] = [];
    for (const d of ordered) {
      const start = Date.parse(d.doc.digestStartTime);
      const end = Date.parse(d.doc.digestEndTime);
      const last = segments.at(-1);
      if (last && d.doc.previousDigestS3Object) last.end = Math.max(last.end, end);
      else segments.push({ start, end });
    }
    const listed = new Set<string>();
    for (const e of this.events) if (e.kind === 'digest') for (const l of e.logs) listed.add(`${l.bucket}/${l.key}`);
    // Invalid digests are reported already; the files they name are not orphans.
    for (const p of this.cache.values()) {
      const f = await p.catch(() => undefined);
      const files = f?.doc?.logFiles;
      if (Array.isArray(files)) for (const l of files as { s3Bucket?: unknown; s3Object?: unknown }[]) listed.add(`${String(l.s3Bucket)}/${String(l.s3Object)}`);
    }
    const from = Math.max(opts.startTime, segments[0]?.start ?? opts.startTime);
    const to = Math.min(opts.endTime, segments.at(-1)?.end ?? opts.endTime);
    const candidates: string[] = [];
    const bucket = opts.bucket;
    const lists = await Promise.all(dayFolders(from, to).map((day) => this.logDay(day)));
    for (const key of lists.flat()) {
      if (listed.has(`${bucket}/${key}`)) continue;
      const minute = logFileKeyTime(key);
      if (minute === undefined || minute < opts.startTime - MINUTE || minute > opts.endTime) continue;
      // Only a file whose whole delivery minute lies inside a covered period must be listed.
      if (segments.some((s) => Math.ceil(s.start / MINUTE) * MINUTE <= minute && minute + MINUTE <= s.end)) candidates.push(key);
    }
    if (candidates.length === 0) return;
    // Other trails may deliver to the same folder: their digests list their files.
    const digestDir = this.digestPrefix(opts.prefix);
    const others = (await Promise.all(dayFolders(from, to + HOUR).map((day) => this.list(bucket, `${digestDir}${day}/`)))).flat();
    const unseen = others.filter((k) => !this.cache.has(`${bucket}/${k}`));
    await Promise.all(
      unseen.map(async (k) => {
        const f = await this.fetch(bucket, k);
        const files = f.doc?.logFiles;
        if (Array.isArray(files)) for (const l of files as { s3Bucket?: unknown; s3Object?: unknown }[]) listed.add(`${String(l.s3Bucket)}/${String(l.s3Object)}`);
      }),
    );
    for (const key of candidates) {
      if (listed.has(`${bucket}/${key}`)) continue;
      this.counts.invalidLogs++;
      this.extraLines.push(`Log file\ts3://${bucket}/${key}\tINVALID: not listed in any digest`);
    }
  }
}

/** A digest field as the signing string has it: null stays null, a non-string as its JSON. */
function textOf(value: unknown): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `YYYY/MM/DD` of every UTC day from `from` to `to`. */
function dayFolders(from: number, to: number): string[] {
  const out: string[] = [];
  const day = 24 * HOUR;
  for (let t = Math.floor(from / day) * day; t <= to; t += day) {
    const d = new Date(t);
    out.push(`${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`);
  }
  return out;
}

/** The last listed digest, taken off the list (the AWS CLI's starting point). */
function lastDigest(digests: string[]): { key: string; date: number } | undefined {
  const key = digests.pop();
  return key === undefined ? undefined : { key, date: parseKeyDate(keyDate(key)) };
}

/** The AWS CLI's skip-ahead: the next listed digest older than `before`, taking keys off the list. */
function findBefore(digests: string[], before: string): { key: string; date: number } | undefined {
  const beforeDate = parseKeyDate(keyDate(before));
  while (digests.length > 0) {
    const key = digests.pop();
    if (key === undefined) break;
    const date = parseKeyDate(keyDate(key));
    if (date < beforeDate) return { key, date };
  }
  return undefined;
}
