/**
 * Trails into CloudWatch Logs: a consumer of the event log that writes each event of a
 * trail with a CloudWatch Logs log group into the stream `ACCOUNT_CloudTrail_REGION` of
 * that group (the message is the record's JSON text), as CloudTrail does, within moments
 * of the call. An event goes to a trail's group when the trail was logging at that point
 * of the log (its logging spans, marked as StartLogging and StopLogging happen; the
 * StopLogging record itself included) and the trail's scope and selectors take it. The
 * consumer's cursor lives in the logs store and moves in the same transaction as the
 * events it wrote, so across crashes and restarts each event is written exactly once.
 */
import type { EventLog, StoredEvent } from '../eventlog/eventlog.js';
import { trailMatcher, type EventMatcher } from '../delivery/selectors.js';
import type { Logger } from '../platform/logger.js';
import { isAwsError } from '../platform/errors.js';
import { throttled } from '../platform/throttle.js';
import type { TrailRecord } from '../trails/store.js';
import type { Trails } from '../trails/trails.js';
import { parseLogGroupArn, type Logs } from './logs.js';
import type { LogsStore, TrailSpan } from './store.js';

/** Events read from the log per transaction. */
const READ_PAGE = 1_000;
/** How far past a span's end its StopLogging record is still looked for. */
const STOP_RECORD_WINDOW = 10_000;
/** Under load, the log is read at most this often on append wake-ups (ms): one pass takes many commits. */
const APPEND_WAKE_MS = 20;

/** What the consumer needs. */
export interface TrailStreamDeps {
  log: Pick<EventLog, 'readAfter' | 'lastSeq' | 'onAppend'>;
  trails: Pick<Trails, 'find' | 'listLoggingTrails' | 'recordDelivery'>;
  logs: Logs;
  store: LogsStore;
  /** Throws when CloudTrail may not deliver to the group with the role (see trail-access.ts); without it every trail may. */
  checkAccess?: (trail: TrailRecord, logGroupArn: string, roleArn: string) => void;
  now: () => number;
  logger?: Logger;
}

const TRAIL_ARN = /^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/** The stream CloudTrail writes an event into: `ACCOUNT_CloudTrail_REGION`. */
export function trailStreamName(accountId: string, region: string): string {
  return `${accountId}_CloudTrail_${region}`;
}

interface Target {
  trail: TrailRecord;
  groupArn: string;
  matches: EventMatcher;
  spans: TrailSpan[];
  error?: string;
}

/**
 * The consumer.
 *
 * @example
 * const stream = new TrailStream({ log, trails, logs, store, now: () => clock.now() });
 * stream.start();
 * await stream.idle(); // everything logged so far is in its log groups
 */
export class TrailStream {
  private unsubscribe: (() => void) | undefined;
  private readonly appendWake = throttled(() => void this.tick(), APPEND_WAKE_MS);
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: TrailStreamDeps) {}

  /**
   * Marks where a trail starts or stops logging in the event log; called by the trail
   * engine inside the write that changes the trail.
   */
  loggingChanged(trail: TrailRecord, isLogging: boolean): void {
    const at = this.deps.log.lastSeq();
    const spans = this.deps.store.trailSpans().filter((s) => s.trailArn === trail.trailArn);
    const open = spans.find((s) => s.end === undefined);
    if (isLogging && !open) this.deps.store.putTrailSpan({ trailArn: trail.trailArn, after: at });
    if (!isLogging && open) this.deps.store.putTrailSpan({ ...open, end: at });
  }

  /** Follows the log: opens spans for trails already logging, catches up, then wakes on every append. */
  start(): void {
    this.deps.store.atomically(() => {
      // A data directory that had events before this consumer existed starts at its end:
      // the trails' earlier events were never CloudWatch Logs' to replay.
      if (this.deps.store.trailCursor() === 0 && this.deps.store.trailSpans().length === 0) this.deps.store.setTrailCursor(this.deps.log.lastSeq());
    });
    const cursor = this.deps.store.trailCursor();
    this.deps.store.atomically(() => {
      const open = new Set(this.deps.store.trailSpans().filter((s) => s.end === undefined).map((s) => s.trailArn));
      for (const trail of this.deps.trails.listLoggingTrails()) {
        if (!open.has(trail.trailArn)) this.deps.store.putTrailSpan({ trailArn: trail.trailArn, after: cursor });
      }
    });
    this.unsubscribe = this.deps.log.onAppend(() => this.appendWake.kick());
    this.appendWake.kick();
  }

  /** Stops following the log and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.appendWake.cancel();
    await this.running;
  }

  /** The consumer's position in the event log. */
  cursor(): number {
    return this.deps.store.trailCursor();
  }

  /** Resolves once everything appended so far has been written to its log groups. */
  async idle(): Promise<void> {
    for (;;) {
      await this.running;
      const before = this.deps.store.trailCursor();
      if (this.stopped || before >= this.deps.log.lastSeq()) return;
      await this.tick();
      // A pass that could not move (a storage failure, logged) would not move on a retry either.
      if (this.deps.store.trailCursor() === before) return;
    }
  }

  /** Runs a pass now (the server's jobs call it as a safety net besides the append wake-ups). */
  tick(): Promise<void> {
    this.running = this.running.then(() => this.pump());
    return this.running;
  }

  private pump(): void {
    while (!this.stopped) {
      try {
        if (!this.passOnce()) return;
      } catch (e) {
        this.deps.logger?.error({ err: e }, 'trail stream to CloudWatch Logs failed');
        return;
      }
    }
  }

  /** Writes one page of the log; false when there was nothing to read. */
  private passOnce(): boolean {
    const { store, log } = this.deps;
    const cursor = store.trailCursor();
    const targets = this.targets();
    if (targets.length === 0) {
      // No trail sends to CloudWatch Logs: move past the log without reading it.
      const end = log.lastSeq();
      if (end <= cursor) return false;
      store.atomically(() => store.setTrailCursor(end), { flush: false });
      return true;
    }
    const events = log.readAfter(cursor, READ_PAGE);
    const lastEvent = events[events.length - 1];
    if (!lastEvent) return false;
    const batches = new Map<string, { target: Target; stream: string; events: { timestamp: number; message: string }[] }>();
    for (const event of events) {
      for (const target of targets) {
        if (target.error !== undefined || !this.inSpan(target, event) || !target.matches(event)) continue;
        const stream = `${target.groupArn}\u0000${trailStreamName(event.accountId, event.region)}`;
        let batch = batches.get(stream);
        if (!batch) {
          batch = { target, stream: trailStreamName(event.accountId, event.region), events: [] };
          batches.set(stream, batch);
        }
        batch.events.push({ timestamp: event.eventTime, message: event.record });
      }
    }
    const delivered = new Set<Target>();
    // A page that went to no group only moves the cursor (a replay would redo it): no flush of its own.
    store.atomically(() => {
      for (const batch of batches.values()) {
        const arn = parseLogGroupArn(batch.target.groupArn);
        const group = arn ? this.deps.logs.findGroup({ accountId: arn.accountId, region: arn.region }, arn.name) : undefined;
        if (!group) {
          batch.target.error = 'The log group does not exist.';
          continue;
        }
        this.deps.logs.ingest(group, batch.stream, batch.events);
        delivered.add(batch.target);
      }
      for (const target of targets) {
        // Spans long finished (their StopLogging record found or given up on) are dropped.
        store.deleteTrailSpans(target.trail.trailArn, lastEvent.seq - STOP_RECORD_WINDOW);
      }
      store.setTrailCursor(lastEvent.seq);
    }, { flush: batches.size > 0 });
    const at = this.deps.now();
    for (const target of targets) {
      const key = { accountId: target.trail.accountId, homeRegion: target.trail.homeRegion, name: target.trail.name };
      if (target.error !== undefined) this.deps.trails.recordDelivery(key, { kind: 'cloudWatchLogs', at, error: target.error });
      else if (delivered.has(target)) this.deps.trails.recordDelivery(key, { kind: 'cloudWatchLogs', at });
    }
    return true;
  }

  /** The trails with spans and a CloudWatch Logs group, compiled for this page. */
  private targets(): Target[] {
    const bySpan = new Map<string, TrailSpan[]>();
    for (const span of this.deps.store.trailSpans()) {
      const list = bySpan.get(span.trailArn) ?? [];
      list.push(span);
      bySpan.set(span.trailArn, list);
    }
    const out: Target[] = [];
    for (const [trailArn, spans] of bySpan) {
      const m = TRAIL_ARN.exec(trailArn);
      const trail = m ? this.deps.trails.find(m[2] ?? '', m[1] ?? '', trailArn) : undefined;
      const groupArn = trail?.config.cloudWatchLogsLogGroupArn;
      const roleArn = trail?.config.cloudWatchLogsRoleArn;
      if (!trail || groupArn === undefined || roleArn === undefined) continue;
      const target: Target = { trail, groupArn, matches: trailMatcher(trail), spans };
      try {
        this.deps.checkAccess?.(trail, groupArn, roleArn);
      } catch (e) {
        if (!isAwsError(e)) throw e;
        target.error = e.message;
      }
      out.push(target);
    }
    return out;
  }

  /** Whether the trail was logging at the event: inside a span, or the record of the StopLogging that closed one. */
  private inSpan(target: Target, event: StoredEvent): boolean {
    let latest: TrailSpan | undefined;
    for (const s of target.spans) if (s.after < event.seq && (!latest || s.after > latest.after)) latest = s;
    if (!latest) return false;
    if (latest.end === undefined || event.seq <= latest.end) return true;
    if (event.seq - latest.end > STOP_RECORD_WINDOW || event.eventName !== 'StopLogging' || event.eventSource !== 'cloudtrail.amazonaws.com') return false;
    return stoppedTrail(event) === target.trail.name || stoppedTrail(event) === target.trail.trailArn;
  }
}

/** The trail a StopLogging record names (its `requestParameters.name`). */
function stoppedTrail(event: StoredEvent): string | undefined {
  try {
    const record = JSON.parse(event.record) as { requestParameters?: { name?: unknown } | null };
    const name = record.requestParameters?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
