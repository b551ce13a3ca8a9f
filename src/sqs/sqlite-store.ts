/**
 * The SQS store on the embedded state database: tables `sqs_queues`, `sqs_messages`
 * and `sqs_dedup`. Messages survive restarts with their visibility and receive counts.
 * Writes commit without a disk flush of their own; the database's group flush makes them
 * durable, one fsync for every caller waiting at the time.
 */
import { groupFlush, type GroupFlush } from '../storage/group-flush.js';
import { commitUnflushed, migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type { MessageAttribute } from './md5.js';
import type { DedupEntry, MessageChange, MessageCounts, NewMessage, QueueRecord, QueueStore, StoredMessage } from './store.js';

const MIGRATIONS = [
  `CREATE TABLE sqs_queues (
     arn TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     modified_at INTEGER NOT NULL,
     purged_at INTEGER,
     attributes TEXT NOT NULL,
     tags TEXT NOT NULL,
     UNIQUE (account_id, region, name)
   );
   CREATE TABLE sqs_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     queue_arn TEXT NOT NULL,
     message_id TEXT NOT NULL,
     body TEXT NOT NULL,
     attributes TEXT NOT NULL,
     system_attributes TEXT NOT NULL,
     md5_body TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     sent_at INTEGER NOT NULL,
     visible_at INTEGER NOT NULL,
     receive_count INTEGER NOT NULL,
     first_received_at INTEGER,
     receipt TEXT,
     group_id TEXT,
     dedup_id TEXT
   );
   CREATE INDEX sqs_messages_by_queue ON sqs_messages (queue_arn, visible_at);
   CREATE INDEX sqs_messages_by_age ON sqs_messages (queue_arn, sent_at);
   CREATE TABLE sqs_dedup (
     queue_arn TEXT NOT NULL,
     dedup_id TEXT NOT NULL,
     message_id TEXT NOT NULL,
     sequence_number TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (queue_arn, dedup_id)
   );`,
  // FIFO receives read a queue in sequence order, skipping what is not yet visible, without
  // sorting the backlog; only FIFO messages have a group, so standard queues pay nothing.
  `CREATE INDEX sqs_messages_fifo_order ON sqs_messages (queue_arn, seq, visible_at) WHERE group_id IS NOT NULL;`,
];

/** Columns of the message fields that change after a send, in the order updates list them. */
const CHANGE_COLUMNS = [
  ['queueArn', 'queue_arn'],
  ['visibleAt', 'visible_at'],
  ['receiveCount', 'receive_count'],
  ['firstReceivedAt', 'first_received_at'],
  ['receipt', 'receipt'],
  ['systemAttributes', 'system_attributes'],
] as const satisfies readonly (readonly [keyof MessageChange, string])[];

interface QueueRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  created_at: number;
  modified_at: number;
  purged_at: number | null;
  attributes: string;
  tags: string;
}

interface MessageRow {
  seq: number;
  queue_arn: string;
  message_id: string;
  body: string;
  attributes: string;
  system_attributes: string;
  md5_body: string;
  sender_id: string;
  sent_at: number;
  visible_at: number;
  receive_count: number;
  first_received_at: number | null;
  receipt: string | null;
  group_id: string | null;
  dedup_id: string | null;
}

type StoredAttribute = { DataType: string; StringValue?: string; BinaryValue?: string };

/** Frozen: the same record is handed to every caller until the queue changes. */
function toQueue(r: QueueRow): QueueRecord {
  return deepFreeze({
    arn: r.arn,
    accountId: r.account_id,
    region: r.region,
    name: r.name,
    createdAt: r.created_at,
    modifiedAt: r.modified_at,
    attributes: JSON.parse(r.attributes) as Record<string, string>,
    tags: JSON.parse(r.tags) as Record<string, string>,
    ...(r.purged_at !== null ? { purgedAt: r.purged_at } : {}),
  });
}

function deepFreeze(q: QueueRecord): QueueRecord {
  Object.freeze(q.attributes);
  Object.freeze(q.tags);
  return Object.freeze(q);
}

function encodeAttributes(attrs: Record<string, MessageAttribute>): string {
  const out: Record<string, StoredAttribute> = {};
  for (const [name, a] of Object.entries(attrs)) {
    out[name] = {
      DataType: a.DataType,
      ...(a.StringValue !== undefined ? { StringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { BinaryValue: a.BinaryValue.toString('base64') } : {}),
    };
  }
  return JSON.stringify(out);
}

function decodeAttributes(text: string): Record<string, MessageAttribute> {
  const out: Record<string, MessageAttribute> = {};
  for (const [name, a] of Object.entries(JSON.parse(text) as Record<string, StoredAttribute>)) {
    out[name] = {
      DataType: a.DataType,
      ...(a.StringValue !== undefined ? { StringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { BinaryValue: Buffer.from(a.BinaryValue, 'base64') } : {}),
    };
  }
  return out;
}

/** SQS sequence numbers are 128-bit decimal strings; ours are the row numbers, padded. */
function sequenceNumberOf(seq: number): string {
  return String(seq).padStart(20, '0');
}

function toMessage(r: MessageRow): StoredMessage {
  return {
    seq: r.seq,
    queueArn: r.queue_arn,
    messageId: r.message_id,
    body: r.body,
    messageAttributes: decodeAttributes(r.attributes),
    systemAttributes: JSON.parse(r.system_attributes) as Record<string, string>,
    md5OfBody: r.md5_body,
    senderId: r.sender_id,
    sentAt: r.sent_at,
    visibleAt: r.visible_at,
    receiveCount: r.receive_count,
    ...(r.first_received_at !== null ? { firstReceivedAt: r.first_received_at } : {}),
    ...(r.receipt !== null ? { receipt: r.receipt } : {}),
    ...(r.group_id !== null ? { groupId: r.group_id, sequenceNumber: sequenceNumberOf(r.seq) } : {}),
    ...(r.dedup_id !== null ? { dedupId: r.dedup_id } : {}),
  };
}

/**
 * The SQLite implementation of {@link QueueStore}. Pass the state database's shared
 * {@link GroupFlush} so that SQS writes share disk flushes with the other stores; without
 * one the store flushes on its own.
 *
 * @example
 * const store = new SqliteQueueStore(db, stateFlush);
 */
export class SqliteQueueStore implements QueueStore {
  /**
   * Queues by ARN, as last read: every message call looks its queue up (often twice, for
   * the queue policy and the operation), and this store is the only writer of its table.
   * Filled only outside transactions and dropped on every write, so a rolled-back write
   * never leaves its version here.
   */
  private readonly queues = new Map<string, QueueRecord>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly flush: GroupFlush = groupFlush(db),
  ) {
    migrate(db, 'sqs', MIGRATIONS);
  }

  /** One commit with no disk flush of its own; joins the transaction already open. */
  private write<T>(fn: () => T): T {
    return commitUnflushed(this.db, fn);
  }

  getQueue(accountId: string, region: string, name: string): QueueRecord | undefined {
    const row = statement<[string, string, string], QueueRow>(
      this.db,
      'SELECT * FROM sqs_queues WHERE account_id = ? AND region = ? AND name = ?',
    ).get(accountId, region, name);
    return row ? toQueue(row) : undefined;
  }

  getQueueByArn(arn: string): QueueRecord | undefined {
    const cached = this.queues.get(arn);
    if (cached) return cached;
    const row = statement<[string], QueueRow>(this.db, 'SELECT * FROM sqs_queues WHERE arn = ?').get(arn);
    if (!row) return undefined;
    const queue = toQueue(row);
    if (!this.db.inTransaction) this.queues.set(arn, queue);
    return queue;
  }

  putQueue(q: QueueRecord): void {
    this.queues.delete(q.arn);
    this.write(() => statement(
      this.db,
      `INSERT INTO sqs_queues (arn, account_id, region, name, created_at, modified_at, purged_at, attributes, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET modified_at = excluded.modified_at, purged_at = excluded.purged_at,
         attributes = excluded.attributes, tags = excluded.tags`,
    ).run(q.arn, q.accountId, q.region, q.name, q.createdAt, q.modifiedAt, q.purgedAt ?? null, JSON.stringify(q.attributes), JSON.stringify(q.tags)));
  }

  deleteQueue(arn: string): void {
    this.queues.delete(arn);
    this.write(() => {
      statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sqs_dedup WHERE queue_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sqs_queues WHERE arn = ?').run(arn);
    });
  }

  listQueues(accountId: string, region: string, prefix: string): QueueRecord[] {
    return statement<[string, string], QueueRow>(this.db, 'SELECT * FROM sqs_queues WHERE account_id = ? AND region = ? ORDER BY name')
      .all(accountId, region)
      .filter((r) => r.name.startsWith(prefix))
      .map(toQueue);
  }

  allQueues(): QueueRecord[] {
    return statement<[], QueueRow>(this.db, 'SELECT * FROM sqs_queues ORDER BY arn').all().map(toQueue);
  }

  insertMessage(m: NewMessage): StoredMessage {
    const info = this.write(() => statement(
      this.db,
      `INSERT INTO sqs_messages (queue_arn, message_id, body, attributes, system_attributes, md5_body, sender_id, sent_at,
         visible_at, receive_count, first_received_at, receipt, group_id, dedup_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      m.queueArn,
      m.messageId,
      m.body,
      encodeAttributes(m.messageAttributes),
      JSON.stringify(m.systemAttributes),
      m.md5OfBody,
      m.senderId,
      m.sentAt,
      m.visibleAt,
      m.receiveCount,
      m.firstReceivedAt ?? null,
      m.receipt ?? null,
      m.groupId ?? null,
      m.dedupId ?? null,
    ));
    const seq = Number(info.lastInsertRowid);
    return { ...m, seq, ...(m.groupId !== undefined ? { sequenceNumber: sequenceNumberOf(seq) } : {}) };
  }

  getMessage(seq: number): StoredMessage | undefined {
    const row = statement<[number], MessageRow>(this.db, 'SELECT * FROM sqs_messages WHERE seq = ?').get(seq);
    return row ? toMessage(row) : undefined;
  }

  receivable(queueArn: string, now: number, limit: number, order: 'sequence' | 'visibility'): StoredMessage[] {
    // Both read an index in the order asked and stop at `limit`: ORDER BY seq over the
    // (queue, visible_at) index would sort every visible message of the queue on each receive.
    const sql =
      order === 'sequence'
        ? `SELECT * FROM sqs_messages INDEXED BY sqs_messages_fifo_order
             WHERE queue_arn = ? AND visible_at <= ? AND group_id IS NOT NULL ORDER BY seq LIMIT ?`
        : `SELECT * FROM sqs_messages INDEXED BY sqs_messages_by_queue
             WHERE queue_arn = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`;
    return statement<[string, number, number], MessageRow>(this.db, sql).all(queueArn, now, limit).map(toMessage);
  }

  groupsInFlight(queueArn: string, now: number): Set<string> {
    const rows = statement<[string, number], { group_id: string }>(
      this.db,
      'SELECT DISTINCT group_id FROM sqs_messages WHERE queue_arn = ? AND visible_at > ? AND receive_count > 0 AND group_id IS NOT NULL',
    ).all(queueArn, now);
    return new Set(rows.map((r) => r.group_id));
  }

  updateMessage(seq: number, change: MessageChange): void {
    const columns: string[] = [];
    const values: (string | number | null)[] = [];
    for (const [field, column] of CHANGE_COLUMNS) {
      if (!(field in change)) continue;
      const value = change[field];
      columns.push(`${column} = ?`);
      values.push(value === undefined ? null : typeof value === 'object' ? JSON.stringify(value) : value);
    }
    if (columns.length === 0) return;
    // A few shapes of change exist (receive, redrive, visibility), so few statements are cached.
    this.write(() => statement(this.db, `UPDATE sqs_messages SET ${columns.join(', ')} WHERE seq = ?`).run(...values, seq));
  }

  deleteReceived(queueArn: string, seq: number, receipt: string): boolean {
    return this.write(
      () => statement(this.db, 'DELETE FROM sqs_messages WHERE seq = ? AND queue_arn = ? AND receipt = ?').run(seq, queueArn, receipt).changes > 0,
    );
  }

  purgeMessages(queueArn: string): void {
    this.write(() => statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ?').run(queueArn));
  }

  expireMessages(queueArn: string, sentBefore: number): number {
    return this.write(() => statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ? AND sent_at < ?').run(queueArn, sentBefore).changes);
  }

  counts(queueArn: string, now: number): MessageCounts {
    const row = statement<[number, number, number, string], { visible: number | null; in_flight: number | null; delayed: number | null }>(
      this.db,
      `SELECT SUM(visible_at <= ?) AS visible,
              SUM(visible_at > ? AND receive_count > 0) AS in_flight,
              SUM(visible_at > ? AND receive_count = 0) AS delayed
         FROM sqs_messages WHERE queue_arn = ?`,
    ).get(now, now, now, queueArn);
    return { visible: row?.visible ?? 0, inFlight: row?.in_flight ?? 0, delayed: row?.delayed ?? 0 };
  }

  findDedup(queueArn: string, dedupId: string, now: number): DedupEntry | undefined {
    const row = statement<[string, string, number], { message_id: string; sequence_number: string; expires_at: number }>(
      this.db,
      'SELECT message_id, sequence_number, expires_at FROM sqs_dedup WHERE queue_arn = ? AND dedup_id = ? AND expires_at > ?',
    ).get(queueArn, dedupId, now);
    return row ? { messageId: row.message_id, sequenceNumber: row.sequence_number, expiresAt: row.expires_at } : undefined;
  }

  putDedup(queueArn: string, dedupId: string, e: DedupEntry): void {
    this.write(() => statement(
      this.db,
      `INSERT INTO sqs_dedup (queue_arn, dedup_id, message_id, sequence_number, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (queue_arn, dedup_id) DO UPDATE SET message_id = excluded.message_id,
         sequence_number = excluded.sequence_number, expires_at = excluded.expires_at`,
    ).run(queueArn, dedupId, e.messageId, e.sequenceNumber, e.expiresAt));
  }

  purgeDedup(now: number): void {
    this.write(() => statement(this.db, 'DELETE FROM sqs_dedup WHERE expires_at <= ?').run(now));
  }

  transaction<T>(fn: () => T): T {
    // Nested, a savepoint: an error undoes this part only, and the caller may carry on.
    if (this.db.inTransaction) return this.db.transaction(fn)();
    return this.write(fn);
  }

  flushed(): Promise<void> {
    return this.flush.flushed();
  }
}
