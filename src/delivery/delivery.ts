/**
 * Trail delivery: turns the event log into CloudTrail log files in each logging trail's
 * bucket, every delivery interval (5 minutes by default), exactly once per event.
 *
 * One shared reader walks the log and fans events out to the trails; each trail has its
 * own persisted cursor and its logging spans (where StartLogging and StopLogging fell in
 * the log). A delivery covers the range (cursor, toSeq] and is first written down as an
 * intent (range and delivery time); its files are named from the range, written, and only
 * then does the cursor advance. After a crash or a failed write, the same intent yields
 * the same keys and bytes, so a retry overwrites rather than duplicates, and a failure
 * never moves the cursor past an undelivered event.
 *
 * Schedule decisions read the injected Clock: {@link DeliveryEngine.tick} is called often
 * (by the server's jobs) and delivers only when the interval has elapsed by that clock.
 */
import { SerialRunner } from '../platform/serial.js';
import { createHash } from 'node:crypto';
import type { CursorStore, EventLog, StoredEvent } from '../eventlog/eventlog.js';
import { encryptionAttributes, type ObjectEncryption } from '../objectstore/access/encryption.js';
import type { ObjectStore } from '../objectstore/store.js';
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { CLOUDTRAIL_SERVICE, DELIVERY_ACL, deliveryContext, encryptionConditionKeys } from '../trails/delivery-access.js';
import type { Trails } from '../trails/trails.js';
import type { TrailRecord } from '../trails/store.js';
import { LogFileBuffer, logFileBytes, logFileJson, logFileKey, uniqueString, type LogFileContent } from './logfile.js';
import { trailMatcher, type EventMatcher } from './selectors.js';
import type { DeliveryStateStore, LoggingSpan, TrailDeliveryState } from './store.js';

/** CloudTrail's delivery interval. */
export const DEFAULT_DELIVERY_INTERVAL_MS = 5 * 60 * 1000;
/** The most JSON one log file holds before a delivery is split into several files. */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
/** The most log events one delivery covers; a larger backlog is delivered in several. */
export const DEFAULT_MAX_RANGE_EVENTS = 100_000;
/** How long after StopLogging the engine waits for the call's own record before giving up on it. */
export const STOP_RECORD_GRACE_MS = 60_000;
/** The consumer name under which the lowest trail cursor is kept in the log's cursor store. */
export const DELIVERY_CONSUMER = 'delivery';

const READ_PAGE = 2_000;

/** What the engine needs. */
export interface DeliveryEngineOptions {
  log: Pick<EventLog, 'readAfter' | 'lastSeq'>;
  trails: Pick<Trails, 'listLoggingTrails' | 'find' | 'recordDelivery'>;
  /** Where trail buckets live: the embedded store, or an external S3 endpoint. */
  objects: Pick<ObjectStore, 'putObject'>;
  store: DeliveryStateStore;
  clock: Clock;
  logger?: Logger;
  /** The delivery interval (ms), 5 minutes by default. */
  intervalMs?: number;
  maxFileBytes?: number;
  maxRangeEvents?: number;
  /** When given, the lowest cursor of all trails is kept there as {@link DELIVERY_CONSUMER}, so retention never purges an undelivered event. */
  cursors?: CursorStore;
  /**
   * Told of each log file once it is in its bucket (the digest engine lists it in the
   * trail's next digest); a retried delivery tells again with the same key and hash.
   */
  onLogFile?: (file: LogFileWritten) => void;
  /**
   * Authorizes each write as CloudTrail's service principal (the bucket policy of the
   * embedded store), throwing S3's error (AccessDenied, NoSuchBucket) to refuse it, and
   * says what the object is stored with (its owner and ACL under `bucket-owner-full-control`).
   * Without it every write is made as the bucket owner.
   */
  authorizeWrite?: (write: DeliveryWrite) => DeliveryWriteGrant;
}

/** A log file about to be written, as the bucket's access rules see it. */
export interface DeliveryWrite {
  bucket: string;
  key: string;
  /** The condition keys of the request: the trail as source, the ACL and SSE headers. */
  context: Record<string, string>;
  /** The trail owner's account (the writer CloudTrail acts for). */
  accountId: string;
}

/** What an authorized write is stored with. */
export interface DeliveryWriteGrant {
  owner?: string;
  attributes?: Record<string, string>;
}

/** A log file as {@link DeliveryEngineOptions.onLogFile} is told of it. */
export interface LogFileWritten {
  trail: TrailRecord;
  /** The Region whose events the file holds. */
  region: string;
  bucket: string;
  key: string;
  /** Hex SHA-256 of the uncompressed file. */
  sha256: string;
  /** The times (ms) of its oldest and newest events. */
  oldestEventTime: number;
  newestEventTime: number;
}

/** One log file written. */
export interface DeliveredFile {
  trailArn: string;
  bucket: string;
  key: string;
  records: number;
}

/** What a delivery pass did. */
export interface DeliveryReport {
  files: DeliveredFile[];
  /** Trails whose delivery failed (and will be retried), with the error reported. */
  failures: { trailArn: string; error: string }[];
}

interface Backoff {
  failures: number;
  retryAt: number;
}

/** One trail's share of a pass. */
interface Job {
  trail: TrailRecord;
  state: TrailDeliveryState;
  fromSeq: number;
  toSeq: number;
  deliveredAt: number;
  matches: EventMatcher;
  buffers: Map<string, LogFileBuffer>;
  files: DeliveredFile[];
  error?: string;
  /** StopLogging records found in this range, by the `after` of the span each closes. */
  stopSeqs: Map<number, number>;
}

/**
 * The delivery engine.
 *
 * @example
 * const delivery = new DeliveryEngine({ log, trails, objects, store: new SqliteDeliveryStateStore(db), clock });
 * jobs.every('trail-delivery', 1000, () => delivery.tick()); // delivers every interval
 * await delivery.deliverNow();                                // or right away (tests)
 * await delivery.stop();
 */
export class DeliveryEngine {
  private readonly intervalMs: number;
  private readonly maxFileBytes: number;
  private readonly maxRangeEvents: number;
  private nextDueAt: number;
  private readonly backoff = new Map<string, Backoff>();
  private readonly passes = new SerialRunner();

  constructor(private readonly opts: DeliveryEngineOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_DELIVERY_INTERVAL_MS;
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.maxRangeEvents = opts.maxRangeEvents ?? DEFAULT_MAX_RANGE_EVENTS;
    this.nextDueAt = opts.clock.now() + this.intervalMs;
  }

  /** The delivery interval in ms. */
  get interval(): number {
    return this.intervalMs;
  }

  /**
   * Trails calls this (synchronously, inside its own write) when a trail starts or stops
   * logging, so the span boundary is the end of the log at that exact moment: events
   * before StartLogging are never delivered, events before StopLogging always are.
   */
  loggingChanged(trail: TrailRecord, isLogging: boolean): void {
    const lastSeq = this.opts.log.lastSeq();
    const state = this.current(trail, lastSeq);
    const open = state.spans.find((s) => s.end === undefined);
    if (isLogging) {
      if (!open) state.spans.push({ after: lastSeq });
    } else if (open) {
      open.end = lastSeq;
      open.awaitingStopRecord = { since: this.opts.clock.now() };
    }
    this.opts.store.put(state);
  }

  /** Refuses further passes and waits for one in progress to finish. */
  async stop(): Promise<void> {
    await this.passes.stop();
  }

  /**
   * Runs a pass if one is due by the clock: every trail when the interval has elapsed,
   * and failed trails whose backoff has expired; it runs after any pass in progress.
   */
  async tick(): Promise<DeliveryReport> {
    const now = this.opts.clock.now();
    const due = now >= this.nextDueAt;
    const retries = [...this.backoff.values()].some((b) => b.retryAt <= now);
    if ((!due && !retries) || this.passes.isStopped) return { files: [], failures: [] };
    if (due) {
      // Anchored to the schedule, not to when the wake-up came: a wake-up a moment late does
      // not push every later delivery back (or, a moment early, skip a whole interval).
      const next = this.nextDueAt + this.intervalMs;
      this.nextDueAt = next > now ? next : now + this.intervalMs;
    }
    return this.enqueue(() => this.pass({ force: false, due }));
  }

  /**
   * Delivers everything logged so far for every trail now, ignoring the schedule and any
   * backoff, until caught up (or a trail fails). Resolves with what it wrote.
   */
  deliverNow(): Promise<DeliveryReport> {
    return this.enqueue(() => this.pass({ force: true, due: true }));
  }

  /**
   * True when every stopped logging span of the trail has been delivered (its StopLogging
   * record included) and no delivery is in progress: the trail's final digest can be written.
   */
  settled(trailArn: string): boolean {
    const state = this.opts.store.get(trailArn);
    if (!state) return true;
    if (state.pending) return false;
    return state.spans.every((s) => s.end === undefined || finished(s, state.cursor));
  }

  /**
   * Each trail's cursor (events up to it are delivered or passed over), for its lag behind
   * the log; a trail with no logging span left has nothing to deliver (`idle`).
   */
  cursors(): { trailArn: string; cursor: number; idle: boolean }[] {
    return this.opts.store.list().map((s) => ({ trailArn: s.trailArn, cursor: s.cursor, idle: s.spans.length === 0 }));
  }

  /** The lowest cursor among trails that still have events to deliver, or undefined when none has. */
  lowestCursor(): number | undefined {
    let lowest: number | undefined;
    for (const state of this.opts.store.list()) {
      if (state.spans.length === 0) continue;
      lowest = lowest === undefined ? state.cursor : Math.min(lowest, state.cursor);
    }
    return lowest;
  }

  private enqueue(fn: () => Promise<DeliveryReport>): Promise<DeliveryReport> {
    return this.passes.run(fn, () => ({ files: [], failures: [] }));
  }

  /** One pass; a forced pass repeats until every trail has caught up with the log. */
  private async pass(mode: { force: boolean; due: boolean }): Promise<DeliveryReport> {
    const report: DeliveryReport = { files: [], failures: [] };
    for (let round = 0; ; round++) {
      const { jobs, more } = this.plan(mode);
      if (jobs.length === 0) break;
      await this.scan(jobs);
      for (const job of jobs) this.commit(job, report);
      if (!more || report.failures.length > 0 || round > 10_000) break;
    }
    this.saveLowestCursor();
    return report;
  }

  /** Reconciles states with trails and decides each trail's range for this round. */
  private plan(mode: { force: boolean; due: boolean }): { jobs: Job[]; more: boolean } {
    const { log, store, clock } = this.opts;
    const now = clock.now();
    const lastSeq = log.lastSeq();
    const logging = new Map(this.opts.trails.listLoggingTrails().map((t) => [t.trailArn, t]));
    const states = new Map(store.list().map((s) => [s.trailArn, s]));
    // Logging trails the engine has not heard of (started before it ran) start here.
    for (const trail of logging.values()) {
      const state = states.get(trail.trailArn);
      if (!state || state.trailCreatedAt !== trail.createdAt || !state.spans.some((s) => s.end === undefined)) {
        const fresh = this.current(trail, lastSeq);
        if (!fresh.spans.some((s) => s.end === undefined)) fresh.spans.push({ after: lastSeq });
        store.put(fresh);
        states.set(trail.trailArn, fresh);
      }
    }
    const jobs: Job[] = [];
    let more = false;
    for (const state of states.values()) {
      const trail = logging.get(state.trailArn) ?? this.opts.trails.find(state.accountId, state.homeRegion, state.trailArn);
      if (!trail || trail.createdAt !== state.trailCreatedAt) {
        store.remove(state.trailArn);
        this.backoff.delete(state.trailArn);
        continue;
      }
      if (!trail.status.isLogging) {
        const open = state.spans.find((s) => s.end === undefined);
        if (open) {
          // Stopped without the engine hearing of it: the stop is now.
          open.end = lastSeq;
          store.put(state);
        }
      }
      const backoff = this.backoff.get(state.trailArn);
      const eligible = mode.force || (backoff ? backoff.retryAt <= now : mode.due);
      if (!eligible) continue;
      if (!state.pending && !hasWork(state, lastSeq)) {
        if (state.cursor < lastSeq && state.spans.every((s) => s.end !== undefined && !s.awaitingStopRecord)) {
          // Nothing of this trail's can lie ahead: pass over the rest of the log cheaply.
          store.put({ ...state, cursor: lastSeq, spans: [] });
        }
        continue;
      }
      let toSeq: number;
      let deliveredAt: number;
      if (state.pending) {
        ({ toSeq, deliveredAt } = state.pending);
      } else {
        toSeq = Math.min(lastSeq, state.cursor + this.maxRangeEvents);
        deliveredAt = now;
        // The intent is durable before any file is written: a retry repeats it exactly.
        store.put({ ...state, pending: { toSeq, deliveredAt } });
      }
      if (toSeq < lastSeq) more = true;
      jobs.push({
        trail,
        state,
        fromSeq: state.cursor,
        toSeq,
        deliveredAt,
        matches: trailMatcher(trail),
        buffers: new Map(),
        files: [],
        stopSeqs: new Map(),
      });
    }
    return { jobs, more };
  }

  /** Reads the log once for all jobs and writes each trail's files as they fill. */
  private async scan(jobs: Job[]): Promise<void> {
    const from = Math.min(...jobs.map((j) => j.fromSeq));
    const to = Math.max(...jobs.map((j) => j.toSeq));
    let seq = from;
    while (seq < to) {
      const page = this.opts.log.readAfter(seq, READ_PAGE);
      if (page.length === 0) break;
      for (const event of page) {
        if (event.seq > to) break;
        for (const job of jobs) {
          if (job.error !== undefined || event.seq <= job.fromSeq || event.seq > job.toSeq) continue;
          if (!this.inSpan(job, event) || !job.matches(event)) continue;
          let buffer = job.buffers.get(event.region);
          if (!buffer) {
            buffer = new LogFileBuffer(this.maxFileBytes);
            job.buffers.set(event.region, buffer);
          }
          const full = buffer.add(event.record, event.eventTime);
          if (full) await this.write(job, event.region, full);
        }
      }
      seq = page[page.length - 1]?.seq ?? to;
    }
    for (const job of jobs) {
      for (const [region, buffer] of job.buffers) {
        const last = buffer.finish();
        if (last && job.error === undefined) await this.write(job, region, last);
      }
    }
  }

  /** Whether the event falls in one of the trail's logging spans. */
  private inSpan(job: Job, event: StoredEvent): boolean {
    const spans = job.state.spans;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      if (!span || event.seq <= span.after) continue;
      if (span.end === undefined || event.seq <= span.end) return true;
      if (event.seq === span.stopSeq) return true;
      // The stop's own record comes after the span's end, and before the next start.
      const next = spans[i + 1];
      if (
        span.awaitingStopRecord &&
        !job.stopSeqs.has(span.after) &&
        (next === undefined || event.seq <= next.after) &&
        isStopLoggingRecord(job.trail, event)
      ) {
        job.stopSeqs.set(span.after, event.seq);
        return true;
      }
    }
    return false;
  }

  private async write(job: Job, region: string, file: LogFileContent): Promise<void> {
    const { trail } = job;
    const key = logFileKey(
      {
        accountId: trail.accountId,
        region,
        deliveredAt: job.deliveredAt,
        ...(trail.config.s3KeyPrefix !== undefined ? { s3KeyPrefix: trail.config.s3KeyPrefix } : {}),
      },
      uniqueString({
        trailArn: trail.trailArn,
        trailCreatedAt: trail.createdAt,
        fromSeq: job.fromSeq,
        toSeq: job.toSeq,
        region,
        part: file.part,
      }),
    );
    const bucket = trail.config.s3BucketName;
    try {
      const grant = this.opts.authorizeWrite?.({ bucket, key, accountId: trail.accountId, context: writeContext(trail) }) ?? {};
      const body = await logFileBytes(file.records);
      await this.opts.objects.putObject(bucket, key, body, {
        headers: { contentType: 'application/json', contentEncoding: 'gzip' },
        // The embedded store seals by the version's attributes; an external endpoint gets headers.
        attributes: { ...grant.attributes, ...encryptionAttributes(logFileEncryption(trail, bucket, key)) },
        ...(grant.owner !== undefined ? { owner: grant.owner } : {}),
        // CloudTrail's service principal writes the file (as bucket event notifications name it).
        context: { accountId: trail.accountId, principalId: CLOUDTRAIL_SERVICE, sourceIp: CLOUDTRAIL_SERVICE, headers: { ...encryptionHeaders(trail), 'x-amz-acl': DELIVERY_ACL } },
      });
      job.files.push({ trailArn: trail.trailArn, bucket, key, records: file.records.length });
      this.opts.onLogFile?.({
        trail,
        region,
        bucket,
        key,
        sha256: createHash('sha256').update(logFileJson(file.records), 'utf8').digest('hex'),
        oldestEventTime: file.oldestEventTime,
        newestEventTime: file.newestEventTime,
      });
    } catch (e) {
      job.error = deliveryError(e);
      this.opts.logger?.warn({ err: e, trailArn: trail.trailArn, bucket, key }, 'log file delivery failed');
    }
  }

  /** Advances the cursor after a complete delivery, or keeps the intent for a retry. */
  private commit(job: Job, report: DeliveryReport): void {
    const { store, clock, trails } = this.opts;
    const now = clock.now();
    const arn = job.trail.trailArn;
    const key = { accountId: job.trail.accountId, homeRegion: job.trail.homeRegion, name: job.trail.name };
    report.files.push(...job.files);
    if (job.error !== undefined) {
      const failures = (this.backoff.get(arn)?.failures ?? 0) + 1;
      this.backoff.set(arn, { failures, retryAt: now + this.retryDelay(failures) });
      report.failures.push({ trailArn: arn, error: job.error });
      trails.recordDelivery(key, { kind: 'logFile', at: now, error: job.error });
      return;
    }
    this.backoff.delete(arn);
    // Re-read: StartLogging or StopLogging may have changed the spans during the writes.
    const current = store.get(arn);
    if (current && current.trailCreatedAt === job.state.trailCreatedAt) {
      const caughtUp = job.toSeq >= this.opts.log.lastSeq();
      const spans = current.spans
        .map((span): LoggingSpan => {
          if (!span.awaitingStopRecord) return span;
          const stopSeq = job.stopSeqs.get(span.after);
          if (stopSeq !== undefined) return { after: span.after, ...endOf(span), stopSeq };
          // Given up: the call's record never reached the log (the append failed).
          if (caughtUp && now - span.awaitingStopRecord.since > STOP_RECORD_GRACE_MS) return { after: span.after, ...endOf(span) };
          return span;
        })
        .filter((span) => !finished(span, job.toSeq));
      const next: TrailDeliveryState = { ...current, cursor: Math.max(current.cursor, job.toSeq), spans };
      delete next.pending;
      store.put(next);
    }
    if (job.files.length > 0) trails.recordDelivery(key, { kind: 'logFile', at: now });
  }

  private retryDelay(failures: number): number {
    return Math.min(this.intervalMs, 1000 * 2 ** Math.min(failures - 1, 20));
  }

  /** The state of a trail, fresh (cursor at the end of the log) if it has none or was re-created. */
  private current(trail: TrailRecord, lastSeq: number): TrailDeliveryState {
    const existing = this.opts.store.get(trail.trailArn);
    if (existing && existing.trailCreatedAt === trail.createdAt) return existing;
    return {
      trailArn: trail.trailArn,
      accountId: trail.accountId,
      homeRegion: trail.homeRegion,
      name: trail.name,
      trailCreatedAt: trail.createdAt,
      cursor: lastSeq,
      spans: [],
    };
  }

  private saveLowestCursor(): void {
    if (!this.opts.cursors) return;
    const lastSeq = this.opts.log.lastSeq();
    try {
      this.opts.cursors.set(DELIVERY_CONSUMER, Math.min(this.lowestCursor() ?? lastSeq, lastSeq));
    } catch (e) {
      this.opts.logger?.warn({ err: e }, 'could not save the delivery cursor');
    }
  }
}

/** True when the trail has a span with events it has not passed yet. */
function hasWork(state: TrailDeliveryState, lastSeq: number): boolean {
  if (state.cursor >= lastSeq) return false;
  return state.spans.some((s) => s.end === undefined || s.awaitingStopRecord !== undefined || Math.max(s.end, s.stopSeq ?? 0) > state.cursor);
}

/** A span is finished once stopped, its StopLogging record settled, and the cursor past its last event. */
function finished(span: LoggingSpan, cursor: number): boolean {
  return span.end !== undefined && !span.awaitingStopRecord && cursor >= Math.max(span.end, span.stopSeq ?? 0);
}

function endOf(span: LoggingSpan): { end?: number } {
  return span.end === undefined ? {} : { end: span.end };
}

/** The trail's own successful StopLogging call, whose record lands just after the stop. */
function isStopLoggingRecord(trail: TrailRecord, event: StoredEvent): boolean {
  if (event.eventName !== 'StopLogging' || event.eventSource !== 'cloudtrail.amazonaws.com') return false;
  if (event.accountId !== trail.accountId || event.region !== trail.homeRegion) return false;
  try {
    const record = JSON.parse(event.record) as { errorCode?: unknown; requestParameters?: { name?: unknown } };
    const name = record.requestParameters?.name;
    return record.errorCode === undefined && (name === trail.name || name === trail.trailArn);
  } catch {
    return false;
  }
}

/** The condition keys of a log file write: the trail as its source, `bucket-owner-full-control`, the SSE headers. */
function writeContext(trail: TrailRecord): Record<string, string> {
  return {
    ...deliveryContext(trail),
    's3:x-amz-acl': DELIVERY_ACL,
    ...encryptionConditionKeys(trail.config.kmsKeyId),
  };
}

/**
 * Server-side encryption of delivered files: SSE-KMS with the trail's key, SSE-S3
 * otherwise, as request headers the store's encryption hook reads.
 */
export function encryptionHeaders(trail: TrailRecord): Record<string, string> {
  const key = trail.config.kmsKeyId;
  if (key !== undefined && key !== '') {
    return { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': key };
  }
  return { 'x-amz-server-side-encryption': 'AES256' };
}

/**
 * How a log file is encrypted at rest in the embedded store: SSE-KMS under the trail's key
 * with CloudTrail's encryption context (the trail and the object), SSE-S3 otherwise.
 */
function logFileEncryption(trail: TrailRecord, bucket: string, key: string): ObjectEncryption {
  const kmsKeyId = trail.config.kmsKeyId;
  if (kmsKeyId === undefined || kmsKeyId === '') return { algorithm: 'AES256' };
  return { algorithm: 'aws:kms', kmsKeyId, context: { 'aws:cloudtrail:arn': trail.trailArn, 'aws:s3:arn': `arn:aws:s3:::${bucket}/${key}` } };
}

/**
 * The error GetTrailStatus shows: S3's error code (NoSuchBucket, AccessDenied...), or
 * the transport's for an endpoint that cannot be reached.
 */
function deliveryError(e: unknown): string {
  if (isAwsError(e)) return e.code;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  return 'InternalError';
}
