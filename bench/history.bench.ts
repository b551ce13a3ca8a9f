/**
 * LookupEvents at scale: an eventlog.db of 1,000,000 and then 5,000,000 synthetic
 * management records (about 200 event names over 20 services, 50 users with 75 access
 * keys, 100 resources, three Regions, 89 days), filled by a direct bulk insert through
 * the event log's own schema and the history's migrations, then first pages and second
 * pages (through NextToken) per lookup attribute with random values: p50/p99 latency and
 * lookups per second on one thread. Sizes: BENCH_HISTORY_SIZES (default 1000000,5000000).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../src/eventlog/eventlog.js';
import { eventParams, insertEventSql, migrateEventLog, type EventParams } from '../src/eventlog/schema.js';
import { eventLogFiles, openSqliteEventLog } from '../src/eventlog/sqlite-eventlog.js';
import { History, LOOKUP_ATTRIBUTE_KEYS, type LookupQuery } from '../src/history/history.js';
import { historyMigrations } from '../src/history/schema.js';
import { report } from './support.js';

const SIZES = (process.env.BENCH_HISTORY_SIZES ?? '1000000,5000000').split(',').map(Number);
const LOOKUPS_PER_PLAN = Number(process.env.BENCH_HISTORY_LOOKUPS ?? 400);
const ACCOUNT = '123456789012';
const NOW = Date.parse('2026-06-01T00:00:00Z');
// 89 days: inside the history's 90-day window at NOW.
const SPAN = 89 * 24 * 3600 * 1000;

/** A small deterministic PRNG (mulberry32), so every run builds the same log. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = ['ec2', 'iam', 's3', 'sts', 'lambda', 'cloudtrail', 'kms', 'rds', 'dynamodb', 'sns', 'sqs', 'logs', 'monitoring', 'events', 'ssm', 'ecs', 'eks', 'route53', 'cloudformation', 'elasticloadbalancing'];
const VERBS = ['Describe', 'List', 'Get', 'Create', 'Delete', 'Update', 'Put', 'Tag', 'Untag', 'Modify'];
const NOUNS = ['Instances', 'Users', 'Buckets', 'Functions', 'Trails', 'Keys', 'Tables', 'Topics', 'Queues', 'Stacks'];
/** 200 event names, each with its service. */
const EVENT_NAMES = Array.from({ length: 200 }, (_, i) => {
  const verb = VERBS[i % VERBS.length] ?? 'Describe';
  return { name: `${verb}${NOUNS[Math.floor(i / VERBS.length) % NOUNS.length] ?? ''}${i >= 100 ? 'V2' : ''}`, source: `${SERVICES[i % SERVICES.length] ?? 'ec2'}.amazonaws.com`, readOnly: ['Describe', 'List', 'Get'].includes(verb) };
});
const USERS = Array.from({ length: 50 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
const ACCESS_KEYS = Array.from({ length: 75 }, (_, i) => `AKIA${String(i).padStart(16, '0')}`);
const RESOURCE_TYPES = ['AWS::EC2::Instance', 'AWS::IAM::User', 'AWS::S3::Bucket', 'AWS::Lambda::Function', 'AWS::CloudTrail::Trail', 'AWS::KMS::Key', 'AWS::DynamoDB::Table', 'AWS::SNS::Topic', 'AWS::SQS::Queue', 'AWS::CloudFormation::Stack'];
const RESOURCES = Array.from({ length: 100 }, (_, i) => ({ type: RESOURCE_TYPES[i % RESOURCE_TYPES.length] ?? '', name: `resource-${String(i).padStart(3, '0')}` }));
const REGIONS = ['us-east-1', 'us-east-1', 'us-east-1', 'us-east-1', 'us-east-1', 'us-east-1', 'us-east-1', 'eu-west-1', 'eu-west-1', 'ap-southeast-2'];

function eventId(i: number): string {
  const hex = (i * 2654435761 >>> 0).toString(16).padStart(8, '0');
  return `${hex}-${String(i % 10000).padStart(4, '0')}-4${hex.slice(0, 3)}-8${hex.slice(3, 6)}-${String(i).padStart(12, '0')}`;
}

function pick<T>(items: readonly T[], r: number): T {
  const item = items[Math.floor(r * items.length)];
  if (item === undefined) throw new Error('empty list');
  return item;
}

/** The synthetic event number `i` of `n`, with a CloudTrail-shaped record of about 900 bytes. */
function syntheticEvent(i: number, n: number, random: () => number): NewEvent {
  const name = pick(EVENT_NAMES, random());
  const userIndex = Math.floor(random() * USERS.length);
  const user = USERS[userIndex] ?? 'user-00';
  const key = ACCESS_KEYS[(userIndex + (random() < 0.5 ? 0 : 50)) % ACCESS_KEYS.length] ?? '';
  const region = pick(REGIONS, random());
  const roll = random();
  const resources = roll < 0.3 ? [] : roll < 0.9 ? [pick(RESOURCES, random())] : [pick(RESOURCES, random()), pick(RESOURCES, random())];
  const eventTime = NOW - SPAN + Math.floor((i / n) * SPAN);
  const id = eventId(i);
  const record =
    `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDA${String(userIndex).padStart(17, '0')}","arn":"arn:aws:iam::${ACCOUNT}:user/${user}","accountId":"${ACCOUNT}","accessKeyId":"${key}","userName":"${user}"},` +
    `"eventTime":"${new Date(eventTime).toISOString().replace(/\.\d{3}Z$/, 'Z')}","eventSource":"${name.source}","eventName":"${name.name}","awsRegion":"${region}","sourceIPAddress":"203.0.113.${i % 250}",` +
    `"userAgent":"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#${name.name}",` +
    `"requestParameters":{"maxResults":100,"filterSet":{"items":[{"name":"tag:team","valueSet":{"items":[{"value":"platform"}]}}]}},"responseElements":null,"requestID":"${id.slice(0, 36)}","eventID":"${id}","readOnly":${name.readOnly},` +
    (resources.length > 0 ? `"resources":${JSON.stringify(resources.map((r) => ({ accountId: ACCOUNT, type: r.type, ARN: r.name })))},` : '') +
    `"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"${ACCOUNT}","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"${name.source.split('.')[0] ?? ''}.${region}.amazonaws.com"}}`;
  return {
    eventId: id,
    eventTime,
    accountId: ACCOUNT,
    region,
    eventSource: name.source,
    eventName: name.name,
    readOnly: name.readOnly,
    category: 'Management',
    username: user,
    accessKeyId: key,
    resources,
    record,
  };
}

/** Fills a fresh eventlog.db with `n` events and applies the history migrations; returns seconds taken. */
function fill(dataDir: string, n: number): { insertSeconds: number; indexSeconds: number; bytes: number } {
  const db = new Database(join(dataDir, eventLogFiles.log));
  // A bulk load, not the server's durable append path: no journal and no fsync while
  // filling, then WAL like the real log.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  migrateEventLog(db);
  // Index builds sort in worker threads, in memory where they can, reading through mmap.
  db.pragma('threads = 2');
  db.pragma('mmap_size = 68719476736');
  const random = prng(42);
  const insert = db.prepare<EventParams>(insertEventSql);
  const started = performance.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insert.run(...eventParams(syntheticEvent(i, n, random)));
  });
  for (let from = 0; from < n; from += 100_000) batch(from, Math.min(n, from + 100_000));
  const inserted = performance.now();
  // Indexes built once over the loaded table (a sort each), as a log upgraded to this
  // version would get them; the triggers keep them up to date from then on.
  migrateEventLog(db, historyMigrations);
  const indexed = performance.now();
  const pages = db.pragma('page_count', { simple: true });
  const pageSize = db.pragma('page_size', { simple: true });
  db.pragma('journal_mode = WAL');
  db.close();
  return {
    insertSeconds: (inserted - started) / 1000,
    indexSeconds: (indexed - inserted) / 1000,
    bytes: typeof pages === 'number' && typeof pageSize === 'number' ? pages * pageSize : 0,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function valueFor(key: string, random: () => number, n: number): string {
  switch (key) {
    case 'EventId':
      return eventId(Math.floor(random() * n));
    case 'EventName':
      return pick(EVENT_NAMES, random()).name;
    case 'ReadOnly':
      return random() < 0.5 ? 'true' : 'false';
    case 'Username':
      return pick(USERS, random());
    case 'ResourceType':
      return pick(RESOURCE_TYPES, random());
    case 'ResourceName':
      return pick(RESOURCES, random()).name;
    case 'EventSource':
      return pick(EVENT_NAMES, random()).source;
    case 'AccessKeyId':
      return pick(ACCESS_KEYS, random());
    default:
      throw new Error(`no values for ${key}`);
  }
}

function measure(history: History, n: number): void {
  const random = prng(7);
  const rows: Record<string, string | number> = {};
  let total = 0;
  let totalMs = 0;
  const all: number[] = [];
  for (const key of ['(none)', ...LOOKUP_ATTRIBUTE_KEYS]) {
    const times: number[] = [];
    let returned = 0;
    for (let i = 0; i < LOOKUPS_PER_PLAN; i++) {
      const query: LookupQuery = {
        accountId: ACCOUNT,
        region: pick(REGIONS, random()),
        ...(key === '(none)' ? {} : { attributes: [{ key, value: valueFor(key, random, n) }] }),
      };
      // Every fifth lookup has a time window; every fourth is timed on its second page
      // (through NextToken) rather than its first.
      if (i % 5 === 0) query.startTime = NOW - Math.floor(random() * SPAN);
      if (i % 4 === 0) query.nextToken = history.lookup(query, NOW).nextToken;
      const t0 = performance.now();
      const page = history.lookup(query, NOW);
      const ms = performance.now() - t0;
      times.push(ms);
      returned += page.events.length;
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    const sum = times.reduce((a, b) => a + b, 0);
    total += times.length;
    totalMs += sum;
    rows[`${key} p50 / p99 ms (avg events/page)`] =
      `${percentile(times, 50).toFixed(2)} / ${percentile(times, 99).toFixed(2)}   (${(returned / times.length).toFixed(1)})`;
  }
  all.sort((a, b) => a - b);
  rows['all attributes p50 / p99 ms'] = `${percentile(all, 50).toFixed(2)} / ${percentile(all, 99).toFixed(2)}`;
  rows['lookups/s (one thread, 50-event pages)'] = Math.round(total / (totalMs / 1000));
  report(`LookupEvents over ${n.toLocaleString('en-US')} events`, rows);
}

/**
 * What the history's indexes and triggers cost the durable append path: the real event
 * log (writer thread, group commit, fsync) with and without them, the same events in
 * bursts of 2,000 concurrent appends.
 */
async function appendCost(): Promise<void> {
  const n = 20_000;
  const random = prng(3);
  const events = Array.from({ length: n }, (_, i) => syntheticEvent(i, n, random));
  const rows: Record<string, number> = {};
  for (const withHistory of [false, true]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-history-append-'));
    const { log } = await openSqliteEventLog({ dataDir, migrations: withHistory ? historyMigrations : [] });
    try {
      const started = performance.now();
      for (let i = 0; i < n; i += 2000) await Promise.all(events.slice(i, i + 2000).map((e) => log.append(e)));
      rows[withHistory ? 'appends/s with the history indexes' : 'appends/s without them'] = Math.round(n / ((performance.now() - started) / 1000));
    } finally {
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  report(`event log appends (${n.toLocaleString('en-US')} events, 2,000 in flight)`, rows);
}

/** Runs the benchmark: the append cost, then fill and measure for each size. */
export async function run(): Promise<void> {
  await appendCost();
  for (const n of SIZES) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-history-'));
    try {
      const filled = fill(dataDir, n);
      report(`history fill: ${n.toLocaleString('en-US')} events`, {
        'bulk insert (s)': filled.insertSeconds.toFixed(1),
        'history migrations: indexes + resource tables (s)': filled.indexSeconds.toFixed(1),
        'eventlog.db size (MiB)': Math.round(filled.bytes / 1024 / 1024),
      });
      const history = new History({ dataDir, log: { purgeBefore: async () => 0 }, tokenKey: Buffer.alloc(32, 9) });
      try {
        // Warm up the statements and the page cache's upper index levels.
        for (let i = 0; i < 50; i++) history.lookup({ accountId: ACCOUNT, region: 'us-east-1' }, NOW);
        measure(history, n);
      } finally {
        history.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}
