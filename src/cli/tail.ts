/**
 * `cairn tail`: follows the event history as calls are recorded, like `tail -f`. It polls
 * CloudTrail's LookupEvents (so it sees exactly what the caller's IAM policies allow, and
 * works against any CloudTrail-compatible endpoint), four times a second, and prints each
 * event once: a compact line, or the whole record as one JSON line. Its own LookupEvents
 * calls are recorded too, as every call is; they carry its user agent and are not printed.
 */
import type { CloudTrailClient, LookupAttribute, LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import { quietSdk, serverTarget } from './client.js';

export interface TailOptions {
  dataDir: string;
  endpointUrl?: string;
  region?: string;
  /** `Key=Value` lookup attributes; the first is sent to LookupEvents, the others filter here. */
  attribute?: string[];
  json?: boolean;
  /** Also print events recorded this long before starting (`5m`, `1h`). */
  since?: string;
  /** Stop after printing this many events. */
  maxEvents?: string;
  /** Poll interval in milliseconds (default 250). */
  interval?: string;
}

const TAIL_AGENT = 'cairn-tail';
const KEYS: readonly LookupAttributeKey[] = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'];
/** Pages read per poll at most (50 events each); a burst larger than this is printed on later polls. */
const MAX_PAGES = 40;

interface Shown {
  eventId: string;
  time: number;
  text: string;
}

/** What a compact line shows of a record. */
interface RecordView {
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  userIdentity?: { type?: string; userName?: string; arn?: string; principalId?: string };
  resources?: { ARN?: string }[];
}

export function parseAttribute(text: string): LookupAttribute | string {
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq) : '';
  const value = text.slice(eq + 1);
  const known = KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
  if (!known || value === '') return `--attribute ${text}: expected Key=Value with Key one of ${KEYS.join(', ')}`;
  return { AttributeKey: known, AttributeValue: value };
}

function who(r: RecordView): string {
  const u = r.userIdentity;
  if (!u) return '-';
  if (u.type === 'Root') return 'root';
  if (u.userName) return u.userName;
  const arn = u.arn ?? '';
  return arn.slice(arn.lastIndexOf(':') + 1) || u.principalId || (u.type ?? '-');
}

/** One compact line: time, source, name, who, from where, the error if any, the first resource. */
export function compactLine(r: RecordView): string {
  const parts = [
    r.eventTime ?? '',
    (r.eventSource ?? '').replace(/\.amazonaws\.com$/, ''),
    r.eventName ?? '',
    who(r),
    r.sourceIPAddress ?? '',
    r.awsRegion ?? '',
  ];
  if (r.errorCode) parts.push(`ERROR ${r.errorCode}`);
  const first = r.resources?.[0]?.ARN;
  if (first) parts.push(first);
  return parts.join('  ');
}

/** Whether a record matches a lookup attribute, for the attributes after the first. */
function matches(record: RecordView & { eventID?: string; readOnly?: boolean; userIdentity?: { accessKeyId?: string } }, a: LookupAttribute): boolean {
  const v = a.AttributeValue ?? '';
  switch (a.AttributeKey) {
    case 'EventId':
      return record.eventID === v;
    case 'EventName':
      return record.eventName === v;
    case 'EventSource':
      return record.eventSource === v;
    case 'ReadOnly':
      return String(record.readOnly) === v;
    case 'Username':
      return who(record) === v || record.userIdentity?.userName === v;
    case 'AccessKeyId':
      return record.userIdentity?.accessKeyId === v;
    case 'ResourceName':
      return (record.resources ?? []).some((r) => r.ARN === v || (r.ARN ?? '').endsWith(`/${v}`) || (r.ARN ?? '').endsWith(`:${v}`));
    case 'ResourceType':
      return (record.resources as { type?: string }[] | undefined)?.some((r) => r.type === v) ?? false;
    default:
      return true;
  }
}

export async function tailCommand(opts: TailOptions, out: NodeJS.WritableStream = process.stdout, signal?: AbortSignal): Promise<number> {
  const target = serverTarget(opts);
  if (typeof target === 'string') {
    process.stderr.write(`cairn tail: ${target}\n`);
    return 1;
  }
  const attributes: LookupAttribute[] = [];
  for (const text of opts.attribute ?? []) {
    const a = parseAttribute(text);
    if (typeof a === 'string') {
      process.stderr.write(`cairn tail: ${a}\n`);
      return 2;
    }
    attributes.push(a);
  }
  let sinceMs = 0;
  if (opts.since !== undefined) {
    const { parseDuration } = await import('../platform/config.js');
    const d = parseDuration(opts.since);
    if (d === undefined) {
      process.stderr.write(`cairn tail: --since ${opts.since}: expected a duration such as 30s, 5m or 2h\n`);
      return 2;
    }
    sinceMs = d;
  }
  const maxEvents = opts.maxEvents === undefined ? Infinity : Number(opts.maxEvents);
  const interval = Math.max(50, Number(opts.interval ?? 250));
  quietSdk();
  const { CloudTrailClient: Client, LookupEventsCommand } = await import('@aws-sdk/client-cloudtrail');
  const client: CloudTrailClient = new Client({
    endpoint: target.endpoint,
    region: target.region,
    credentials: target.credentials,
    customUserAgent: TAIL_AGENT,
    maxAttempts: 2,
  });
  const [serverSide, ...local] = attributes;
  // Events already printed, by id, for as long as a poll can return them again.
  const seen = new Map<string, number>();
  let from = Date.now() - sinceMs;
  let printed = 0;
  try {
    while (!signal?.aborted && printed < maxEvents) {
      const started = Date.now();
      const batch: Shown[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await client.send(
          new LookupEventsCommand({
            // LookupEvents compares whole seconds; a second of overlap, and `seen` drops repeats.
            StartTime: new Date(from - 1000),
            ...(serverSide ? { LookupAttributes: [serverSide] } : {}),
            MaxResults: 50,
            ...(token ? { NextToken: token } : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
        for (const e of res.Events ?? []) {
          const id = e.EventId ?? '';
          if (seen.has(id)) continue;
          const text = e.CloudTrailEvent ?? '{}';
          const record = JSON.parse(text) as RecordView & { eventID?: string };
          if ((record.userAgent ?? '').includes(TAIL_AGENT)) {
            seen.set(id, e.EventTime?.getTime() ?? started);
            continue;
          }
          if (!local.every((a) => matches(record, a))) continue;
          batch.push({ eventId: id, time: e.EventTime?.getTime() ?? started, text: opts.json ? text : compactLine(record) });
        }
        token = res.NextToken;
        if (!token) break;
      }
      // LookupEvents answers newest first; a log reads oldest first.
      batch.sort((a, b) => a.time - b.time);
      for (const e of batch) {
        if (printed >= maxEvents) break;
        seen.set(e.eventId, e.time);
        out.write(`${e.text}\n`);
        printed++;
      }
      const newest = Math.max(from, ...batch.map((e) => e.time));
      from = newest;
      for (const [id, t] of seen) if (t < from - 5000) seen.delete(id);
      if (printed >= maxEvents) break;
      await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - started))));
    }
  } catch (e) {
    if (signal?.aborted) return 0;
    const err = e as { name?: string; message?: string };
    process.stderr.write(`cairn tail: ${err.name ?? 'Error'}: ${err.message ?? String(e)}\n`);
    return 1;
  } finally {
    client.destroy();
  }
  return 0;
}
