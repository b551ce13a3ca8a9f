/**
 * The SNS store on the embedded state database: tables `sns_topics`,
 * `sns_subscriptions` and `sns_deliveries`.
 */
import { migrate, statement, type SqliteDatabase } from '../storage/sqlite.js';
import type { DeliveryRecord, SubscriptionRecord, TopicRecord, TopicStore } from './store.js';

const MIGRATIONS = [
  `CREATE TABLE sns_topics (
     arn TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     region TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     attributes TEXT NOT NULL,
     tags TEXT NOT NULL
   );
   CREATE INDEX sns_topics_by_account ON sns_topics (account_id, region);
   CREATE TABLE sns_subscriptions (
     arn TEXT PRIMARY KEY,
     topic_arn TEXT NOT NULL,
     owner TEXT NOT NULL,
     protocol TEXT NOT NULL,
     endpoint TEXT NOT NULL,
     attributes TEXT NOT NULL,
     confirmed INTEGER NOT NULL,
     token TEXT,
     confirmation_authenticated INTEGER NOT NULL,
     unsubscribe_needs_auth INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn);
   CREATE TABLE sns_deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     subscription_arn TEXT NOT NULL,
     kind TEXT NOT NULL,
     target TEXT NOT NULL,
     body TEXT NOT NULL,
     headers TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     next_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX sns_deliveries_due ON sns_deliveries (next_at);`,
];

interface TopicRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  created_at: number;
  attributes: string;
  tags: string;
}

interface SubscriptionRow {
  arn: string;
  topic_arn: string;
  owner: string;
  protocol: string;
  endpoint: string;
  attributes: string;
  confirmed: number;
  token: string | null;
  confirmation_authenticated: number;
  unsubscribe_needs_auth: number;
  created_at: number;
}

interface DeliveryRow {
  id: number;
  subscription_arn: string;
  kind: string;
  target: string;
  body: string;
  headers: string;
  attempts: number;
  next_at: number;
  created_at: number;
}

const toTopic = (r: TopicRow): TopicRecord => ({
  arn: r.arn,
  accountId: r.account_id,
  region: r.region,
  name: r.name,
  createdAt: r.created_at,
  attributes: JSON.parse(r.attributes) as Record<string, string>,
  tags: JSON.parse(r.tags) as Record<string, string>,
});

const toSubscription = (r: SubscriptionRow): SubscriptionRecord => ({
  arn: r.arn,
  topicArn: r.topic_arn,
  owner: r.owner,
  protocol: r.protocol,
  endpoint: r.endpoint,
  attributes: JSON.parse(r.attributes) as Record<string, string>,
  confirmed: r.confirmed === 1,
  ...(r.token !== null ? { token: r.token } : {}),
  confirmationAuthenticated: r.confirmation_authenticated === 1,
  unsubscribeNeedsAuth: r.unsubscribe_needs_auth === 1,
  createdAt: r.created_at,
});

const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  id: r.id,
  subscriptionArn: r.subscription_arn,
  kind: r.kind === 'lambda' ? 'lambda' : 'http',
  target: r.target,
  body: r.body,
  headers: JSON.parse(r.headers) as Record<string, string>,
  attempts: r.attempts,
  nextAt: r.next_at,
  createdAt: r.created_at,
});

/** The SQLite implementation of {@link TopicStore}. */
export class SqliteTopicStore implements TopicStore {
  constructor(private readonly db: SqliteDatabase) {
    migrate(db, 'sns', MIGRATIONS);
  }

  getTopic(arn: string): TopicRecord | undefined {
    const row = statement<[string], TopicRow>(this.db, 'SELECT * FROM sns_topics WHERE arn = ?').get(arn);
    return row ? toTopic(row) : undefined;
  }

  putTopic(t: TopicRecord): void {
    statement(
      this.db,
      `INSERT INTO sns_topics (arn, account_id, region, name, created_at, attributes, tags) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET attributes = excluded.attributes, tags = excluded.tags`,
    ).run(t.arn, t.accountId, t.region, t.name, t.createdAt, JSON.stringify(t.attributes), JSON.stringify(t.tags));
  }

  deleteTopic(arn: string): void {
    this.db.transaction(() => {
      statement(this.db, 'DELETE FROM sns_deliveries WHERE subscription_arn IN (SELECT arn FROM sns_subscriptions WHERE topic_arn = ?)').run(arn);
      statement(this.db, 'DELETE FROM sns_subscriptions WHERE topic_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sns_topics WHERE arn = ?').run(arn);
    })();
  }

  listTopics(accountId: string, region: string): TopicRecord[] {
    return statement<[string, string], TopicRow>(this.db, 'SELECT * FROM sns_topics WHERE account_id = ? AND region = ? ORDER BY arn')
      .all(accountId, region)
      .map(toTopic);
  }

  getSubscription(arn: string): SubscriptionRecord | undefined {
    const row = statement<[string], SubscriptionRow>(this.db, 'SELECT * FROM sns_subscriptions WHERE arn = ?').get(arn);
    return row ? toSubscription(row) : undefined;
  }

  putSubscription(s: SubscriptionRecord): void {
    statement(
      this.db,
      `INSERT INTO sns_subscriptions (arn, topic_arn, owner, protocol, endpoint, attributes, confirmed, token,
         confirmation_authenticated, unsubscribe_needs_auth, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET attributes = excluded.attributes, confirmed = excluded.confirmed, token = excluded.token,
         confirmation_authenticated = excluded.confirmation_authenticated, unsubscribe_needs_auth = excluded.unsubscribe_needs_auth`,
    ).run(
      s.arn,
      s.topicArn,
      s.owner,
      s.protocol,
      s.endpoint,
      JSON.stringify(s.attributes),
      s.confirmed ? 1 : 0,
      s.token ?? null,
      s.confirmationAuthenticated ? 1 : 0,
      s.unsubscribeNeedsAuth ? 1 : 0,
      s.createdAt,
    );
  }

  deleteSubscription(arn: string): void {
    this.db.transaction(() => {
      statement(this.db, 'DELETE FROM sns_deliveries WHERE subscription_arn = ?').run(arn);
      statement(this.db, 'DELETE FROM sns_subscriptions WHERE arn = ?').run(arn);
    })();
  }

  subscriptionsOf(topicArn: string): SubscriptionRecord[] {
    return statement<[string], SubscriptionRow>(this.db, 'SELECT * FROM sns_subscriptions WHERE topic_arn = ? ORDER BY created_at, arn')
      .all(topicArn)
      .map(toSubscription);
  }

  listSubscriptions(accountId: string, region: string): SubscriptionRecord[] {
    return statement<[string, string], SubscriptionRow>(
      this.db,
      `SELECT * FROM sns_subscriptions WHERE owner = ? AND topic_arn LIKE 'arn:aws:sns:' || ? || ':%' ORDER BY arn`,
    )
      .all(accountId, region)
      .map(toSubscription);
  }

  addDelivery(d: Omit<DeliveryRecord, 'id'>): DeliveryRecord {
    const info = statement(
      this.db,
      `INSERT INTO sns_deliveries (subscription_arn, kind, target, body, headers, attempts, next_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(d.subscriptionArn, d.kind, d.target, d.body, JSON.stringify(d.headers), d.attempts, d.nextAt, d.createdAt);
    return { ...d, id: Number(info.lastInsertRowid) };
  }

  deliveryCount(): number {
    return statement<[], { n: number }>(this.db, 'SELECT count(*) AS n FROM sns_deliveries').get()?.n ?? 0;
  }

  dueDeliveries(now: number, limit: number): DeliveryRecord[] {
    return statement<[number, number], DeliveryRow>(this.db, 'SELECT * FROM sns_deliveries WHERE next_at <= ? ORDER BY next_at, id LIMIT ?')
      .all(now, limit)
      .map(toDelivery);
  }

  updateDelivery(id: number, attempts: number, nextAt: number): void {
    statement(this.db, 'UPDATE sns_deliveries SET attempts = ?, next_at = ? WHERE id = ?').run(attempts, nextAt, id);
  }

  deleteDelivery(id: number): void {
    statement(this.db, 'DELETE FROM sns_deliveries WHERE id = ?').run(id);
  }
}
