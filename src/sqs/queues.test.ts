import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { md5OfAttributes, md5OfBody } from './md5.js';
import { Queues } from './queues.js';
import { SqliteQueueStore } from './sqlite-store.js';

const scope = { accountId: '111122223333', region: 'us-east-1' };

function engine(): { queues: Queues; clock: ManualClock } {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const queues = new Queues({ store: new SqliteQueueStore(openStateDatabase(':memory:')), clock, random: cryptoRandom, pollIntervalMs: 10 });
  return { queues, clock };
}

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
    const dlq = queues.createQueue(scope, 'dlq.fifo', { FifoQueue: 'true' });
    const q = queues.createQueue(scope, 'src.fifo', {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: '10',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    queues.send(q, { body: 'g1-a', groupId: 'g1', senderId: 'me' });
    queues.send(q, { body: 'g1-b', groupId: 'g1', senderId: 'me' });
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
    const q = queues.createQueue(scope, 'd.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const a = queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' });
    expect(queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' }).messageId).toBe(a.messageId);
    clock.advance(5 * 60_000);
    expect(queues.send(q, { body: 'same', groupId: 'g', senderId: 'me' }).messageId).not.toBe(a.messageId);
    queues.purgeQueue(q);
    const purged = queues.findQueueByArn(q.arn);
    if (!purged) throw new Error('queue missing');
    expect(() => queues.purgeQueue(purged)).toThrow(/Only one PurgeQueue/);
  });

  it('wakes a long poll on send and ends it on stop', async () => {
    const { queues } = engine();
    const q = queues.createQueue(scope, 'lp');
    const started = performance.now();
    const waiting = queues.receive(q, { waitTimeSeconds: 5 });
    setTimeout(() => queues.send(q, { body: 'now', senderId: 'me' }), 50);
    expect((await waiting).map((r) => r.message.body)).toEqual(['now']);
    expect(performance.now() - started).toBeLessThan(2000);
    const idle = queues.receive(q, { waitTimeSeconds: 5 });
    setTimeout(() => queues.stop(), 50);
    expect(await idle).toEqual([]);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('refuses oversize messages, bad characters and bad attributes', () => {
    const { queues } = engine();
    const q = queues.createQueue(scope, 'small', { MaximumMessageSize: '1024' });
    expect(() => queues.send(q, { body: 'x'.repeat(1025), senderId: 'me' })).toThrow(/shorter than 1024 bytes/);
    expect(() => queues.send(q, { body: 'a\u0000b', senderId: 'me' })).toThrow(/Invalid characters/);
    expect(() => queues.send(q, { body: 'ok', attributes: { n: { DataType: 'Number', StringValue: 'abc' } }, senderId: 'me' })).toThrow(/number/);
    expect(() => queues.send(q, { body: 'ok', attributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } }, senderId: 'me' })).toThrow(/invalid name/);
  });
});
