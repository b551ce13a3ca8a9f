import { verify, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { silentLogger } from '../platform/logger.js';
import { openStateDatabase } from '../storage/sqlite.js';
import { Queues } from '../sqs/queues.js';
import { SqliteQueueStore } from '../sqs/sqlite-store.js';
import { matchesFilter, parseFilterPolicy } from './filter-policy.js';
import { FunctionRegistry } from './functions.js';
import { loadOrCreateSigningIdentity, signMessage, stringToSign } from './signing.js';
import { SqliteTopicStore } from './sqlite-store.js';
import { httpRetryDelays, Topics } from './topics.js';

const attrs = (kv: Record<string, string | number>) =>
  Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, { DataType: typeof v === 'number' ? 'Number' : 'String', StringValue: String(v) }]));

describe('filter policies', () => {
  const match = (policy: unknown, a: Record<string, string | number>, body = '') =>
    matchesFilter(parseFilterPolicy(JSON.stringify(policy), 'MessageAttributes'), 'MessageAttributes', { attributes: attrs(a), body });

  it('implements SNS operators on attributes', () => {
    expect(match({ c: ['red'] }, { c: 'red' })).toBe(true);
    expect(match({ c: ['red'] }, { c: 'blue' })).toBe(false);
    expect(match({ c: [{ prefix: 'bl' }] }, { c: 'blue' })).toBe(true);
    expect(match({ c: [{ suffix: 'ue' }] }, { c: 'blue' })).toBe(true);
    expect(match({ c: [{ 'equals-ignore-case': 'BLUE' }] }, { c: 'blue' })).toBe(true);
    expect(match({ c: [{ 'anything-but': ['red', 'blue'] }] }, { c: 'green' })).toBe(true);
    expect(match({ c: [{ 'anything-but': 'red' }] }, { c: 'red' })).toBe(false);
    expect(match({ c: [{ 'anything-but': { prefix: 'r' } }] }, { c: 'red' })).toBe(false);
    expect(match({ c: [{ 'anything-but': ['red'] }] }, {})).toBe(false);
    expect(match({ p: [{ numeric: ['>', 0, '<=', 10] }] }, { p: 10 })).toBe(true);
    expect(match({ p: [{ numeric: ['>', 0, '<=', 10] }] }, { p: 11 })).toBe(false);
    expect(match({ p: [{ numeric: ['=', 5] }] }, { p: '5' })).toBe(false);
    expect(match({ p: [5] }, { p: 5 })).toBe(true);
    expect(match({ x: [{ exists: true }] }, { x: 'y' })).toBe(true);
    expect(match({ x: [{ exists: false }] }, { x: 'y' })).toBe(false);
    expect(match({ x: [{ exists: false }] }, {})).toBe(true);
    expect(match({ a: ['1'], b: ['2'] }, { a: '1' })).toBe(false);
    expect(match({ $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: '2' })).toBe(true);
    const list = { tags: { DataType: 'String.Array', StringValue: '["x","y"]' } };
    expect(matchesFilter(parseFilterPolicy('{"tags":["y"]}', 'MessageAttributes'), 'MessageAttributes', { attributes: list, body: '' })).toBe(true);
  });

  it('matches nested keys of a JSON body and refuses malformed policies', () => {
    const policy = parseFilterPolicy(JSON.stringify({ detail: { user: { type: ['Root'] }, ids: [{ numeric: ['>', 2] }] } }), 'MessageBody');
    const body = (o: unknown) => ({ attributes: {}, body: JSON.stringify(o) });
    expect(matchesFilter(policy, 'MessageBody', body({ detail: { user: { type: 'Root' }, ids: [1, 3] } }))).toBe(true);
    expect(matchesFilter(policy, 'MessageBody', body({ detail: { user: { type: 'IAMUser' }, ids: [3] } }))).toBe(false);
    expect(matchesFilter(policy, 'MessageBody', { attributes: {}, body: 'not json' })).toBe(false);
    expect(() => parseFilterPolicy('{"a":"b"}', 'MessageAttributes')).toThrow(/FilterPolicy/);
    expect(() => parseFilterPolicy('{"a":[{"regex":"x"}]}', 'MessageAttributes')).toThrow(/Unrecognized match type/);
    expect(() => parseFilterPolicy('[', 'MessageAttributes')).toThrow(/FilterPolicy/);
  });
});

describe('signing', () => {
  it('signs the listed fields in order, SHA1 for version 1 and SHA256 for version 2, with a certificate kept per data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sns-'));
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const identity = loadOrCreateSigningIdentity(dir, clock, cryptoRandom);
    expect(loadOrCreateSigningIdentity(dir, clock, cryptoRandom).certificatePem).toBe(identity.certificatePem);
    const cert = new X509Certificate(identity.certificatePem);
    expect(cert.verify(cert.publicKey)).toBe(true);
    const msg = { Type: 'Notification', MessageId: 'm', TopicArn: 't', Message: 'hello', Timestamp: '2026-01-01T00:00:00.000Z' };
    expect(stringToSign(msg)).toBe('Message\nhello\nMessageId\nm\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\nt\nType\nNotification\n');
    for (const [version, hash] of [['1', 'sha1'], ['2', 'sha256']] as const) {
      const sig = Buffer.from(signMessage(msg, version, identity.privateKey), 'base64');
      expect(verify(hash, Buffer.from(stringToSign(msg)), cert.publicKey, sig)).toBe(true);
    }
  });
});

describe('HTTP delivery retries on the clock', () => {
  it('follows the delivery policy and gives up after the last retry', async () => {
    expect(httpRetryDelays()).toEqual([20, 20, 20]);
    expect(httpRetryDelays({ numRetries: 4, numNoDelayRetries: 1, minDelayTarget: 2, maxDelayTarget: 10, backoffFunction: 'linear' })).toEqual([0, 2, 6, 10]);

    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const db = openStateDatabase(':memory:');
    const posts: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sns-'));
    const topics = new Topics({
      store: new SqliteTopicStore(db),
      clock,
      random: cryptoRandom,
      logger: silentLogger(),
      queues: new Queues({ store: new SqliteQueueStore(db), clock, random: cryptoRandom }),
      functions: new FunctionRegistry(),
      signing: loadOrCreateSigningIdentity(dir, clock, cryptoRandom),
      endpoint: () => 'http://cairn.test',
      post: async (_url, _body, headers) => {
        posts.push(headers['x-amz-sns-message-type'] ?? '');
        return headers['x-amz-sns-message-type'] === 'SubscriptionConfirmation' ? 200 : 500;
      },
    });
    const topic = topics.createTopic({ accountId: '111122223333', region: 'us-east-1' }, 't');
    const sub = topics.subscribe(topic, { protocol: 'https', endpoint: 'https://hooks.test/x', owner: '111122223333' });
    await topics.settle();
    topics.confirmSubscription(topic.arn, sub.token ?? '', { authenticated: true });
    await topics.publish(topic.arn, { message: 'm' });
    await topics.settle();
    expect(posts).toEqual(['SubscriptionConfirmation', 'Notification']);
    for (let i = 0; i < 3; i++) {
      clock.advance(19_000);
      await topics.deliverDue();
      expect(posts).toHaveLength(2 + i);
      clock.advance(1_000);
      await topics.deliverDue();
      expect(posts).toHaveLength(3 + i);
    }
    // Three retries after the first attempt, then nothing more.
    clock.advance(3_600_000);
    await topics.deliverDue();
    expect(posts).toHaveLength(5);
  });
});
