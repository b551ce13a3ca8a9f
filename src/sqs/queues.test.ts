import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { groupFlush, type GroupFlush } from '../storage/group-flush.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { md5OfAttributes, md5OfBody } from './md5.js';
import { Queues } from './queues.js';
import { SqliteQueueStore } from './sqlite-store.js';

const scope = { accountId: '111122223333', region: 'us-east-1' };

function engine(flush?: GroupFlush): { queues: Queues; clock: ManualClock } {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new SqliteQueueStore(openStateDatabase(':memory:'), flush);
  const queues = new Queues({ store, clock, random: cryptoRandom, pollIntervalMs: 10 });
  return { queues, clock };
}

/**
 * A disk whose flushes finish only when the test says so: a power loss cannot be staged
 * in a test, but what an acknowledgement waits for can be watched.
 */
function heldFlush(): GroupFlush & { release(): void; waiting(): number } {
  let held: (() => void)[] = [];
  return {
    flushed: () => new Promise<void>((resolve) => held.push(resolve)),
    close: () => Promise.resolve(),
    release() {
      const now = held;
      held = [];
      for (const resolve of now) resolve();
    },
    waiting: () => held.length,
  };
}

/** Whether `promise` has settled after the event loop has had a few turns. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('digests', () => {
  it('hashes bodies and attributes the way SQS does', () => {
    expect(md5OfBody('hello world')).toBe('5eb63bbbe01eeed093cb22bb8f5acdc3');
    expect(md5OfAttributes({})).toBeUndefined();
    // Order-independent: SQS sorts attribute names before hashing.
    const a = md5OfAttributes({ b: { DataType: 'String', StringValue: 'x' }, a: { DataType: 'Number', StringValue: '1' } });
    const b = md5OfAttributes({ a: { DataType: 'Number', StringValue: '1' }, b: { DataType: 'String', StringValue: 'x' } });
    expect(a).toBe(b);
    expect(md5OfAttributes({ a: { DataType: 'Binary', BinaryValue: Buffer.from('x') } })).not.toBe(md5OfAttributes({ a: { DataType: 'String', StringValue: 'x' } }));
  });
});

describe('the queue engine on a manual clock', () => {
  it('redrives after maxReceiveCount, keeping FIFO groups blocked while in flight', async () => {
    const { queues, clock } = engine();
    const dlq = await queues.createQueue(scope, 'dlq.fifo', { FifoQueue: 'true' });
    const q = await queues.createQueue(scope, 'src.fifo', {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: '10',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    await queues.send(q, { body: 'g1-a', groupId: 'g1', senderId: 'me' });
    await queues.send(q, { body: 'g1-b', groupId: 'g1', senderId: 'me' });
    const first = await queues.receive(q, { maxMessages: 1 });
    expect(first.map((r) => r.message.body)).toEqual(['g1-a']);
    expect(await queues.receive(q, { maxMessages: 10 })).toEqual([]);
    clock.advance(10_000);
    // g1-a was received once already: it goes to the dead-letter queue, and g1-b follows in order.
    const next = await queues.receive(q, { maxMessages: 10 });
    expect(next.map((r) => r.message.body)).toEqual(['g1-b']);
    const dead = await queues.receive(dlq, { maxMessages: 10 });
    expect(dead.map((r) => r.message.body)).toEqual(['g1-a']);
    expect(dead[0]?.message.systemAttributes.DeadLetterQueueSourceArn).toBe(q.arn);
  });

  it('deduplicates within five minutes only, and refuses a second purge within a minute', async () => {
    const { queues, clock } = engine();
    const q = await queues.createQueue(scope, 'd.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const a = await queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' });
    expect((await queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' })).messageId).toBe(a.messageId);
    clock.advance(5 * 60_000);
    expect((await queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' })).messageId).not.toBe(a.messageId);
    await queues.purgeQueue(q);
    const purged = queues.findQueueByArn(q.arn);
    if (!purged) throw new Error('queue missing');
    await expect(queues.purgeQueue(purged)).rejects.toThrow(/Only one PurgeQueue/);
  });

  it('wakes a long poll on send and ends it on stop', async () => {
    const { queues } = engine();
    const q = await queues.createQueue(scope, 'lp');
    const started = performance.now();
    const waiting = queues.receive(q, { waitTimeSeconds: 5 });
    setTimeout(() => void queues.send(q, { body: 'now', senderId: 'me' }), 50);
    expect((await waiting).map((r) => r.message.body)).toEqual(['now']);
    expect(performance.now() - started).toBeLessThan(2000);
    const idle = queues.receive(q, { waitTimeSeconds: 5 });
    setTimeout(() => queues.stop(), 50);
    expect(await idle).toEqual([]);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('refuses oversize messages, bad characters and bad attributes', async () => {
    const { queues } = engine();
    const q = await queues.createQueue(scope, 'small', { MaximumMessageSize: '1024' });
    await expect(queues.send(q, { body: 'x'.repeat(1025), senderId: 'me' })).rejects.toThrow(/shorter than 1024 bytes/);
    await expect(queues.send(q, { body: 'a\u0000b', senderId: 'me' })).rejects.toThrow(/Invalid characters/);
    await expect(queues.send(q, { body: 'ok', attributes: { n: { DataType: 'Number', StringValue: 'abc' } }, senderId: 'me' })).rejects.toThrow(/number/);
    await expect(queues.send(q, { body: 'ok', attributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } }, senderId: 'me' })).rejects.toThrow(/invalid name/);
  });
});

describe('acknowledgements wait for the disk', () => {
  it('answers a send, a receive, a delete and a batch only once their writes are flushed', async () => {
    const flush = heldFlush();
    const { queues } = engine(flush);
    const creating = queues.createQueue(scope, 'held');
    expect(await settled(creating)).toBe(false);
    flush.release();
    const q = await creating;

    const sending = queues.send(q, { body: 'one', senderId: 'me' });
    expect(await settled(sending)).toBe(false);
    flush.release();
    await sending;

    const batch = queues.sendBatch(q, [
      { body: 'two', senderId: 'me' },
      { body: '', senderId: 'me' },
    ]);
    expect(await settled(batch)).toBe(false);
    flush.release();
    const outcomes = await batch;
    expect(outcomes.map((o) => ('error' in o ? o.error.code : 'ok'))).toEqual(['ok', 'MissingParameter']);

    const receiving = queues.receive(q, { maxMessages: 10 });
    expect(await settled(receiving)).toBe(false);
    flush.release();
    const got = await receiving;
    expect(got.map((r) => r.message.body)).toEqual(['one', 'two']);

    const deleting = queues.deleteMessage(q, got[0]?.receiptHandle ?? '');
    expect(await settled(deleting)).toBe(false);
    flush.release();
    await deleting;
  });

  it('answers an empty receive and a refused send without waiting for a flush', async () => {
    const flush = heldFlush();
    const { queues } = engine(flush);
    const creating = queues.createQueue(scope, 'idle');
    await settled(creating);
    flush.release();
    const q = await creating;
    await expect(queues.receive(q, { waitTimeSeconds: 0 })).resolves.toEqual([]);
    await expect(queues.send(q, { body: '', senderId: 'me' })).rejects.toThrow(/MessageBody/);
    expect(flush.waiting()).toBe(0);
  });

  it('shares one flush among the calls of one turn, and keeps their order', async () => {
    const flush = heldFlush();
    const { queues } = engine(flush);
    const creating = queues.createQueue(scope, 'g.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    await settled(creating);
    flush.release();
    const q = await creating;
    const sends = Array.from({ length: 20 }, (_, i) => queues.send(q, { body: `m${i}`, groupId: 'g', senderId: 'me' }));
    const refused = queues.send(q, { body: 'no group', senderId: 'me' });
    await expect(refused).rejects.toThrow(/MessageGroupId/);
    expect(flush.waiting()).toBe(1);
    flush.release();
    const results = await Promise.all(sends);
    const sequence = results.map((r) => r.sequenceNumber ?? '');
    expect([...sequence].sort()).toEqual(sequence);
    const receiving = queues.receive(q, { maxMessages: 10 });
    await settled(receiving);
    flush.release();
    expect((await receiving).map((r) => r.message.body)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it('does not leave a send behind in a queue deleted in the same turn', async () => {
    const { queues } = engine();
    const q = await queues.createQueue(scope, 'gone');
    const deleting = queues.deleteQueue(q);
    const sending = queues.send(q, { body: 'late', senderId: 'me' });
    await deleting;
    await expect(sending).rejects.toThrow(/does not exist/);
    const again = await queues.createQueue(scope, 'gone');
    expect(await queues.receive(again, { maxMessages: 10 })).toEqual([]);
  });

  it('keeps acknowledged messages, receipts and deletions in the database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sqs-'));
    dirs.push(dir);
    const db = openStateDatabase(dir);
    const flush = groupFlush(db);
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const queues = new Queues({ store: new SqliteQueueStore(db, flush), clock, random: cryptoRandom });
    const q = await queues.createQueue(scope, 'kept');
    await Promise.all(Array.from({ length: 50 }, (_, i) => queues.send(q, { body: `m${i}`, senderId: 'me' })));
    const got = await queues.receive(q, { maxMessages: 10, visibilityTimeout: 600 });
    await Promise.all(got.slice(0, 5).map((r) => queues.deleteMessage(q, r.receiptHandle)));
    await flush.close();
    db.close();

    const reopened = openStateDatabase(dir);
    const after = new Queues({ store: new SqliteQueueStore(reopened), clock, random: cryptoRandom });
    const kept = after.findQueueByArn(q.arn);
    if (!kept) throw new Error('queue missing');
    expect(after.getAttributes(kept, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'])).toEqual({
      ApproximateNumberOfMessages: '40',
      ApproximateNumberOfMessagesNotVisible: '5',
    });
    // The five still in flight answer only to the receipts given out before the restart.
    await after.changeVisibility(kept, got[5]?.receiptHandle ?? '', 0);
    const next = await after.receive(kept, { maxMessages: 1 });
    expect(next.map((r) => r.message.body)).toEqual([got[5]?.message.body]);
    reopened.close();
  });
});

describe('receiving from a backlog', () => {
  it('takes a standard queue oldest first, and a message back after its visibility timeout behind those waiting', async () => {
    const { queues, clock } = engine();
    const q = await queues.createQueue(scope, 'backlog');
    for (let i = 0; i < 300; i++) {
      await queues.send(q, { body: `m${i}`, senderId: 'me' });
      clock.advance(1);
    }
    const first = await queues.receive(q, { maxMessages: 10, visibilityTimeout: 1 });
    expect(first.map((r) => r.message.body)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    clock.advance(1000);
    const next = await queues.receive(q, { maxMessages: 3 });
    expect(next.map((r) => r.message.body)).toEqual(['m10', 'm11', 'm12']);
  });

  it('takes a FIFO queue in order, skipping groups with a message in flight', async () => {
    const { queues } = engine();
    const q = await queues.createQueue(scope, 'order.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    for (const [group, body] of [['a', 'a1'], ['a', 'a2'], ['b', 'b1'], ['a', 'a3'], ['b', 'b2']] as const) {
      await queues.send(q, { body, groupId: group, senderId: 'me' });
    }
    expect((await queues.receive(q, { maxMessages: 1 })).map((r) => r.message.body)).toEqual(['a1']);
    expect((await queues.receive(q, { maxMessages: 10 })).map((r) => r.message.body)).toEqual(['b1', 'b2']);
  });

  it('sees attribute changes and deletions of a queue at once', async () => {
    const { queues } = engine();
    const q = await queues.createQueue(scope, 'changing');
    expect(queues.findQueueByArn(q.arn)?.attributes.VisibilityTimeout).toBe('30');
    await queues.setAttributes(q, { VisibilityTimeout: '5' });
    expect(queues.findQueueByArn(q.arn)?.attributes.VisibilityTimeout).toBe('5');
    await queues.tagQueue(q, { team: 'audit' });
    await queues.setAttributes(q, { DelaySeconds: '1' });
    expect(queues.findQueueByArn(q.arn)?.tags).toEqual({ team: 'audit' });
    expect(queues.findQueueByArn(q.arn)?.attributes).toMatchObject({ VisibilityTimeout: '5', DelaySeconds: '1' });
    await queues.deleteQueue(q);
    expect(queues.findQueueByArn(q.arn)).toBeUndefined();
  });
});
