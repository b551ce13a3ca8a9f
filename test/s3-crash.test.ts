/**
 * The embedded object store across kill -9 of the real server process: every PutObject
 * that was answered is there after a restart, byte for byte, whether its bytes were kept
 * in objects.db (small objects) or in a file of their own (large ones); an overwrite that
 * was in flight leaves the old object or the new one, never neither and never a mix. And
 * every answered PutObject to a bucket with event notifications is notified, at least once.
 */
import { CreateBucketCommand, GetObjectCommand, PutBucketNotificationConfigurationCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cairn.js';
import { repoRoot, spawnServer, type ServerProcess } from './support/process.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const Bucket = 'crash-objects';
const WORKERS = 6;

describe('PutObject durability', () => {
  const dataDir = tempDir('cairn-s3-crash-');
  const running: ServerProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = (s: ServerProcess): S3Client =>
    new S3Client({ endpoint: s.endpoint, region: 'us-east-1', credentials: s.root, forcePathStyle: true, maxAttempts: 1 });

  it('keeps every acknowledged object, small and large, across kill -9', async () => {
    expect(existsSync(join(repoRoot, 'dist', 'objectstore', 'embedded.js')), 'dist/ is stale: run npm run build').toBe(true);
    let server = await spawnServer(dataDir);
    running.push(server);
    let s3 = client(server);
    await s3.send(new CreateBucketCommand({ Bucket }));

    const acknowledged = new Map<string, string>();
    // Per worker, the object it overwrites over and over: the last answered body, and the one in flight.
    const overwrites = Array.from({ length: WORKERS }, () => ({ answered: undefined as string | undefined, inFlight: undefined as string | undefined }));
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        // 3 KiB stays inline in objects.db; 300 KiB gets a blob file, hashed and sealed on the worker thread.
        const body = randomBytes(i % 2 === 0 ? 3 * 1024 : 300 * 1024);
        const overwrite = i % 3 === 2;
        const Key = overwrite ? `w${w}/current` : `w${w}/o${i}`;
        const slot = overwrites[w];
        if (overwrite && slot) slot.inFlight = md5(body);
        try {
          await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
        } catch {
          return;
        }
        if (overwrite && slot) slot.answered = md5(body);
        else acknowledged.set(Key, md5(body));
      }
    };
    const killAt = sleep(700 + Math.floor(Math.random() * 600)).then(() => {
      stop = true;
      server.child.kill('SIGKILL');
    });
    await Promise.all([killAt, ...Array.from({ length: WORKERS }, (_, w) => worker(w))]);
    expect(await server.exited).toBe('SIGKILL');
    expect(acknowledged.size).toBeGreaterThan(WORKERS);

    server = await spawnServer(dataDir);
    running.push(server);
    s3 = client(server);
    const read = async (Key: string): Promise<string | undefined> => {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket, Key }));
        return md5((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    };
    for (const [Key, digest] of acknowledged) expect(await read(Key), Key).toBe(digest);
    for (const [w, slot] of overwrites.entries()) {
      if (slot.answered === undefined) continue;
      expect([slot.answered, slot.inFlight], `w${w}/current`).toContain(await read(`w${w}/current`));
    }
    server.child.kill('SIGTERM');
    await server.exited;
  });

  it('notifies every acknowledged PutObject after kill -9, at least once', async () => {
    const notifyDir = tempDir('cairn-s3-notify-crash-');
    let server = await spawnServer(notifyDir);
    running.push(server);
    const sqsOf = (p: ServerProcess): SQSClient => new SQSClient({ endpoint: p.endpoint, region: 'us-east-1', credentials: p.root, maxAttempts: 1 });
    let sqs = sqsOf(server);
    let s3 = client(server);
    const bucket = 'notified';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'puts' }));
    const queueArn = `arn:aws:sqs:us-east-1:${QueueUrl.split('/').at(-2) ?? ''}:puts`;
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': `arn:aws:s3:::${bucket}` } } }],
    });
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy } }));
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectCreated:Put'] }] },
      }),
    );
    const acknowledged = new Set<string>();
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `w${w}/${i}`, Body: `${w}-${i}` }));
        } catch {
          return;
        }
        acknowledged.add(`w${w}/${i}`);
      }
    };
    const killAt = sleep(500 + Math.floor(Math.random() * 500)).then(() => {
      stop = true;
      server.child.kill('SIGKILL');
    });
    await Promise.all([killAt, ...Array.from({ length: WORKERS }, (_, w) => worker(w))]);
    expect(await server.exited).toBe('SIGKILL');
    expect(acknowledged.size).toBeGreaterThan(WORKERS);

    server = await spawnServer(notifyDir);
    running.push(server);
    sqs.destroy();
    sqs = sqsOf(server);
    s3 = client(server);
    const notified = new Set<string>();
    const until = Date.now() + 20_000;
    while ([...acknowledged].some((k) => !notified.has(k)) && Date.now() < until) {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      const messages = got.Messages ?? [];
      for (const m of messages) {
        const body = JSON.parse(m.Body ?? '{}') as { Records?: { s3: { object: { key: string } } }[] };
        for (const r of body.Records ?? []) notified.add(r.s3.object.key);
      }
      if (messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
      }
    }
    expect([...acknowledged].filter((k) => !notified.has(k))).toEqual([]);
    sqs.destroy();
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(notifyDir, { recursive: true, force: true });
  });
});
