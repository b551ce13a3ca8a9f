/**
 * The ingestion engine: appends CloudTrail records from outside Cairn to the caller's
 * account event log, where every consumer (history, trails, the bus, log groups, Insights,
 * event data stores) reads them as it reads Cairn's own calls. A record whose `eventID`
 * the account's log already holds is skipped, so ingesting the same file twice adds
 * nothing: the check reads an index of eventlog.db on a read-only connection, and batches
 * run one at a time so two callers cannot both add the same id.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { checkNewEvent, type EventLog, type NewEvent } from '../eventlog/eventlog.js';
import type { EventLogMigration } from '../eventlog/schema.js';
import { eventLogFiles } from '../eventlog/sqlite-eventlog.js';
import { SerialRunner } from '../platform/serial.js';
import { ingestedEvent, MAX_BATCH_RECORDS, type IngestionStamp, type RecordFailure } from './ingest-records.js';

const EVENT_ID_INDEX = 'ingest_event_ids';

/** The index that finds an account's event by its id (dedupes ingested records). */
export const ingestMigrations: readonly EventLogMigration[] = [
  { name: 'ingest/1-event-ids', sql: `CREATE INDEX ${EVENT_ID_INDEX} ON events (account_id, event_id);` },
];

/** What one batch did. */
export interface IngestResult {
  /** Records appended to the log. */
  ingested: number;
  /** Records skipped because their eventID was already in the account's log (or earlier in the batch). */
  duplicates: number;
  /** Records refused, with why. */
  failed: RecordFailure[];
}

export interface IngestionOptions {
  /** Holds eventlog.db, opened with {@link ingestMigrations}. */
  dataDir: string;
  log: Pick<EventLog, 'appendMany'>;
}

/**
 * @example
 * const ingestion = new Ingestion({ dataDir, log });
 * const result = await ingestion.ingest(records, { accountId, callerArn, now: clock.now() });
 */
export class Ingestion {
  private readonly db: Database.Database;
  private readonly known: Database.Statement<[string, string], { one: number }>;
  private readonly serial = new SerialRunner();

  /** Opens a read-only connection to `<dataDir>/eventlog.db`; throws if the ingest migrations were never applied. */
  constructor(private readonly opts: IngestionOptions) {
    this.db = new Database(join(opts.dataDir, eventLogFiles.log), { readonly: true, fileMustExist: true });
    try {
      this.known = this.db.prepare(`SELECT 1 AS one FROM events INDEXED BY ${EVENT_ID_INDEX} WHERE account_id = ? AND event_id = ?`);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /**
   * Appends the acceptable records of `records` to the caller's account log, atomically and
   * durably (resolves after the commit), skipping ids already there. Throws RangeError for
   * more than {@link MAX_BATCH_RECORDS} records.
   */
  ingest(records: readonly unknown[], stamp: IngestionStamp): Promise<IngestResult> {
    if (records.length > MAX_BATCH_RECORDS) throw new RangeError(`a batch may hold at most ${MAX_BATCH_RECORDS} records`);
    return this.serial.run(
      async () => {
        const failed: RecordFailure[] = [];
        const events: NewEvent[] = [];
        const inBatch = new Set<string>();
        let duplicates = 0;
        records.forEach((raw, index) => {
          const outcome = ingestedEvent(raw, stamp);
          if ('failure' in outcome) {
            failed.push({ index, ...outcome.failure });
            return;
          }
          const event = outcome.event;
          try {
            checkNewEvent(event);
          } catch (e) {
            failed.push({ index, eventID: event.eventId, errorCode: 'InvalidRecord', errorMessage: (e as Error).message });
            return;
          }
          if (inBatch.has(event.eventId) || this.known.get(stamp.accountId, event.eventId) !== undefined) {
            duplicates++;
            return;
          }
          inBatch.add(event.eventId);
          events.push(event);
        });
        if (events.length > 0) await this.opts.log.appendMany(events);
        return { ingested: events.length, duplicates, failed };
      },
      () => {
        throw new Error('ingestion has stopped');
      },
    );
  }

  /** Lets the batch in progress finish, then closes the connection. */
  async close(): Promise<void> {
    await this.serial.stop();
    this.db.close();
  }
}
