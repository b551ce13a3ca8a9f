/**
 * CloudTrail log files: where a trail's file goes in its bucket, what it is called, and
 * its bytes (`{"Records":[...]}` of the stored record texts, gzip-compressed). A file's
 * name is derived from the trail and the log range it covers, so writing the same range
 * again overwrites the same object with the same bytes.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** The 16-character unique string's alphabet (CloudTrail's examples use letters and digits). */
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** What identifies one log file of a delivery: the trail, the range, the Region and the part. */
export interface LogFileIdentity {
  /** The trail's ARN and creation time: a trail deleted and created again names new files. */
  trailArn: string;
  trailCreatedAt: number;
  /** The log range the delivery covers: seqs in (`fromSeq`, `toSeq`]. */
  fromSeq: number;
  toSeq: number;
  region: string;
  /** 0 for a Region's first file of the range; a large range is split into several. */
  part: number;
}

/** Where a file goes: bucket owner's account, Region, delivery time and the trail's prefix. */
export interface LogFilePlace {
  accountId: string;
  region: string;
  /** When the delivery happened (ms); names the date folders and the file. */
  deliveredAt: number;
  s3KeyPrefix?: string;
}

/**
 * The 16-character `UniqueString` of a log file name: a digest of the file's identity,
 * so it is the same on every retry of the same range and differs between files.
 */
export function uniqueString(id: LogFileIdentity): string {
  const digest = createHash('sha256')
    .update(`${id.trailArn}\n${id.trailCreatedAt}\n${id.fromSeq}\n${id.toSeq}\n${id.region}\n${id.part}`)
    .digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += ALNUM[(digest[i] ?? 0) % ALNUM.length];
  return out;
}

/** The folder of a trail's log files for one Region and day: `[prefix/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`. */
export function logFileFolder(place: LogFilePlace): string {
  const d = new Date(place.deliveredAt);
  const day = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  // CloudTrail joins the prefix with a slash as given, so `logs/` yields `logs//AWSLogs`.
  const prefix = place.s3KeyPrefix !== undefined && place.s3KeyPrefix !== '' ? `${place.s3KeyPrefix}/` : '';
  return `${prefix}AWSLogs/${place.accountId}/CloudTrail/${place.region}/${day}/`;
}

/**
 * A log file's full key:
 * `[prefix/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
 *
 * @example
 * logFileKey({ accountId: '111122223333', region: 'us-east-2', deliveredAt }, 'Mu0KsOhtH1ar15ZZ');
 * // AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz
 */
export function logFileKey(place: LogFilePlace, unique: string): string {
  const d = new Date(place.deliveredAt);
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
  return `${logFileFolder(place)}${place.accountId}_CloudTrail_${place.region}_${stamp}_${unique}.json.gz`;
}

/** The JSON text of a log file: the records verbatim, in log order, inside `{"Records":[...]}`. */
export function logFileJson(records: readonly string[]): string {
  return `{"Records":[${records.join(',')}]}`;
}

/** The gzip bytes of a log file. Node's gzip writes no timestamp, so equal input gives equal bytes. */
export async function logFileBytes(records: readonly string[]): Promise<Buffer> {
  return gzipAsync(Buffer.from(logFileJson(records), 'utf8'));
}

/** One file's share of a delivery: its part number, records, and the times (ms) of its oldest and newest events. */
export interface LogFileContent {
  part: number;
  records: string[];
  oldestEventTime: number;
  newestEventTime: number;
}

/**
 * Collects one Region's records of a delivery into files of at most `maxBytes` of JSON
 * (a record larger than that gets a file of its own), handing each full file on.
 */
export class LogFileBuffer {
  private records: string[] = [];
  private bytes = 0;
  private part = 0;
  private oldest = Infinity;
  private newest = -Infinity;

  constructor(private readonly maxBytes: number) {}

  /** Adds a record (and its event time, ms); returns a full file to write first, if adding it would overflow. */
  add(record: string, eventTime = 0): LogFileContent | undefined {
    const size = Buffer.byteLength(record, 'utf8') + 1;
    let full: LogFileContent | undefined;
    if (this.records.length > 0 && this.bytes + size + FRAME_BYTES > this.maxBytes) full = this.take();
    this.records.push(record);
    this.bytes += size;
    this.oldest = Math.min(this.oldest, eventTime);
    this.newest = Math.max(this.newest, eventTime);
    return full;
  }

  /** The remaining records as the last file, if any. */
  finish(): LogFileContent | undefined {
    return this.records.length > 0 ? this.take() : undefined;
  }

  private take(): LogFileContent {
    const out = { part: this.part++, records: this.records, oldestEventTime: this.oldest, newestEventTime: this.newest };
    this.records = [];
    this.bytes = 0;
    this.oldest = Infinity;
    this.newest = -Infinity;
    return out;
  }
}

/** `{"Records":[` and `]}`. */
const FRAME_BYTES = 14;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
