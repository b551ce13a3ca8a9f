/**
 * The SQS store on the embedded state database: tables `sqs_queues`, `sqs_messages`
 * and `sqs_dedup`. Messages survive restarts with their visibility and receive counts.
 */
import { migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type { MessageAttribute } from './md5.js';
import type { DedupEntry, MessageCounts, NewMessage, QueueRecord, QueueStore, StoredMessage } from './store.js';

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
];

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

function toQueue(r: QueueRow): QueueRecord {
  return {
    arn: r.arn,
    accountId: r.account_id,
    region: r.region,
    name: r.name,
    createdAt: r.created_at,
    modifiedAt: r.modified_at,
    attributes: JSON.parse(r.attributes) as Record<string, string>,
    tags: JSON.parse(r.tags) as Record<string, string>,
    ...(r.purged_at !== null ? { purgedAt: r.purged_at } : {}),
  };
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

/** The SQLite implementation of {@link QueueStore}. */
export class SqliteQueueStore implements QueueStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'sqs', MIGRATIONS);
  }

  getQueue(accountId: string, region: string, name: string): QueueRecord | undefined {
    const row = statement<[string, string, string], QueueRow>(
      this.db,
      'SELECT * FROM sqs_queues WHERE account_id = ? AND region = ? AND name = ?',
    ).get(accountId, region, name);
    return row ? toQueue(row) : undefined;
  }

  getQueueByArn(arn: string): QueueRecord | undefined {
    const row = statement<[string], QueueRow>(this.db, 'SELECT * FROM sqs_queues WHERE arn = ?').get(arn);
    return row ? toQueue(row) : undefined;
  }

  putQueue(q: QueueRecord): void {
    statement(
      this.db,
      `INSERT INTO sqs_queues (arn, account_id, region, name, created_at, modified_at, purged_at, attributes, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET modified_at = excluded.modified_at, purged_at = excluded.purged_at,
         attributes = excluded.attributes, tags = excluded.tags`,
    ).run(q.arn, q.accountId, q.region, q.name, q.createdAt, q.modifiedAt, q.purgedAt ?? null, JSON.stringify(q.attributes), JSON.stringify(q.tags));
  }

  deleteQueue(arn: string): void {
    this.db.transaction(() => {
      statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sqs_dedup WHERE queue_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sqs_queues WHERE arn = ?').run(arn);
    })();
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
    const info = statement(
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
    );
    const seq = Number(info.lastInsertRowid);
    return { ...m, seq, ...(m.groupId !== undefined ? { sequenceNumber: sequenceNumberOf(seq) } : {}) };
  }

  getMessage(seq: number): StoredMessage | undefined {
    const row = statement<[number], MessageRow>(this.db, 'SELECT * FROM sqs_messages WHERE seq = ?').get(seq);
    return row ? toMessage(row) : undefined;
  }

  receivable(queueArn: string, now: number, limit: number): StoredMessage[] {
    return statement<[string, number, number], MessageRow>(
      this.db,
      'SELECT * FROM sqs_messages WHERE queue_arn = ? AND visible_at <= ? ORDER BY seq LIMIT ?',
    )
      .all(queueArn, now, limit)
      .map(toMessage);
  }

  groupsInFlight(queueArn: string, now: number): Set<string> {
    const rows = statement<[string, number], { group_id: string }>(
      this.db,
      'SELECT DISTINCT group_id FROM sqs_messages WHERE queue_arn = ? AND visible_at > ? AND receive_count > 0 AND group_id IS NOT NULL',
    ).all(queueArn, now);
    return new Set(rows.map((r) => r.group_id));
  }

  updateMessage(
    seq: number,
    change: Partial<Pick<StoredMessage, 'visibleAt' | 'receiveCount' | 'firstReceivedAt' | 'receipt' | 'queueArn' | 'systemAttributes'>>,
  ): void {
    const current = this.getMessage(seq);
    if (!current) return;
    const next = { ...current, ...change };
    statement(
      this.db,
      `UPDATE sqs_messages SET queue_arn = ?, visible_at = ?, receive_count = ?, first_received_at = ?, receipt = ?,
         system_attributes = ? WHERE seq = ?`,
    ).run(
      next.queueArn,
      next.visibleAt,
      next.receiveCount,
      next.firstReceivedAt ?? null,
      next.receipt ?? null,
      JSON.stringify(next.systemAttributes),
      seq,
    );
  }

  deleteMessage(seq: number): void {
    statement(this.db, 'DELETE FROM sqs_messages WHERE seq = ?').run(seq);
  }

  purgeMessages(queueArn: string): void {
    statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ?').run(queueArn);
  }

  expireMessages(queueArn: string, sentBefore: number): number {
    return statement(this.db, 'DELETE FROM sqs_messages WHERE queue_arn = ? AND sent_at < ?').run(queueArn, sentBefore).changes;
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
    statement(
      this.db,
      `INSERT INTO sqs_dedup (queue_arn, dedup_id, message_id, sequence_number, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (queue_arn, dedup_id) DO UPDATE SET message_id = excluded.message_id,
         sequence_number = excluded.sequence_number, expires_at = excluded.expires_at`,
    ).run(queueArn, dedupId, e.messageId, e.sequenceNumber, e.expiresAt);
  }

  purgeDedup(now: number): void {
    statement(this.db, 'DELETE FROM sqs_dedup WHERE expires_at <= ?').run(now);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
