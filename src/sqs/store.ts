/**
 * What the SQS engine keeps: queues (with their attributes and tags), messages (with
 * their visibility, receive count and current receipt) and FIFO deduplication entries.
 * The SQLite store (sqlite-store.ts) is the embedded implementation. Writes take effect
 * at once but are durable only once {@link QueueStore.flushed} resolves, so that many
 * concurrent calls share one disk flush.
 */
import type { MessageAttribute } from './md5.js';

/** A queue as stored. `attributes` holds the settable attributes, defaults filled in. */
export interface QueueRecord {
  arn: string;
  accountId: string;
  region: string;
  name: string;
  /** ms since epoch, by the injected clock. */
  createdAt: number;
  modifiedAt: number;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** When the last PurgeQueue ran (ms), for SQS's one-purge-a-minute rule. */
  purgedAt?: number;
}

/** A message as stored. */
export interface StoredMessage {
  seq: number;
  queueArn: string;
  messageId: string;
  body: string;
  messageAttributes: Record<string, MessageAttribute>;
  /** System attributes the sender set (AWSTraceHeader) and those SQS adds (DeadLetterQueueSourceArn). */
  systemAttributes: Record<string, string>;
  md5OfBody: string;
  senderId: string;
  sentAt: number;
  /** The message is receivable once the clock reaches this (delay or visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The token of the latest receipt handle; only it may change visibility or delete. */
  receipt?: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
}

export type NewMessage = Omit<StoredMessage, 'seq' | 'sequenceNumber'>;

/** A FIFO deduplication entry: a second send with the same id inside the window is dropped. */
export interface DedupEntry {
  messageId: string;
  sequenceNumber: string;
  expiresAt: number;
}

export interface MessageCounts {
  visible: number;
  inFlight: number;
  delayed: number;
}

/** The fields of a stored message that change after it is sent. */
export type MessageChange = Partial<Pick<StoredMessage, 'visibleAt' | 'receiveCount' | 'firstReceivedAt' | 'receipt' | 'queueArn' | 'systemAttributes'>>;

/**
 * The storage the SQS engine needs. Every write is visible to later reads at once and
 * survives a process crash; it survives a power loss once a later {@link flushed} resolves,
 * so whoever acknowledges a write awaits that first.
 */
export interface QueueStore {
  getQueue(accountId: string, region: string, name: string): QueueRecord | undefined;
  getQueueByArn(arn: string): QueueRecord | undefined;
  /** Inserts or replaces the queue. */
  putQueue(queue: QueueRecord): void;
  /** Deletes the queue and its messages. */
  deleteQueue(arn: string): void;
  /** Queues of an account and Region whose names start with `prefix`, by name. */
  listQueues(accountId: string, region: string, prefix: string): QueueRecord[];
  allQueues(): QueueRecord[];
  /** Stores a message and returns it with its sequence number. */
  insertMessage(message: NewMessage): StoredMessage;
  getMessage(seq: number): StoredMessage | undefined;
  /**
   * Up to `limit` messages receivable at `now`. In `sequence` order (FIFO) strictly by
   * sequence number; in `visibility` order (standard queues) by the time each became
   * receivable, then sequence number, which an index serves without sorting the backlog.
   */
  receivable(queueArn: string, now: number, limit: number, order: 'sequence' | 'visibility'): StoredMessage[];
  /** FIFO message groups with a message in flight at `now`. */
  groupsInFlight(queueArn: string, now: number): Set<string>;
  /** Writes only the fields `change` names. */
  updateMessage(seq: number, change: MessageChange): void;
  /** Deletes the message if it is in `queueArn` and `receipt` is its current receipt; true when it did. */
  deleteReceived(queueArn: string, seq: number, receipt: string): boolean;
  purgeMessages(queueArn: string): void;
  /** Deletes the queue's messages sent before `sentBefore`; returns how many. */
  expireMessages(queueArn: string, sentBefore: number): number;
  counts(queueArn: string, now: number): MessageCounts;
  findDedup(queueArn: string, dedupId: string, now: number): DedupEntry | undefined;
  putDedup(queueArn: string, dedupId: string, entry: DedupEntry): void;
  purgeDedup(now: number): void;
  /**
   * Runs `fn` atomically: one commit, durable once {@link flushed} resolves; inside
   * another transaction, a savepoint, so an error undoes only what `fn` wrote.
   */
  transaction<T>(fn: () => T): T;
  /** Resolves once every write made before the call is on disk. */
  flushed(): Promise<void>;
}
