/**
 * S3 Lifecycle: the rules of a bucket's lifecycle configuration, checked as S3 checks them
 * on PutBucketLifecycleConfiguration, and the engine that applies them as time passes on
 * the injected clock: transitions between storage classes, expiration of current
 * versions (a delete marker in a versioned bucket), of noncurrent versions and of
 * expired-object delete markers, and aborts of old multipart uploads.
 *
 * Lifecycle actions are S3's own, not API calls: CloudTrail records none of them. They go
 * through the store like any delete, so the Object Lock guard refuses a locked version and
 * the engine leaves it be. Buckets with MFA delete enabled are skipped (S3 does not support
 * lifecycle there).
 */
import { AwsError } from '../../platform/errors.js';
import type { Clock } from '../../platform/clock.js';
import type { BucketInfo, ObjectInfo, ObjectStoreEngine } from '../store.js';

/** The bucket configuration document holding the lifecycle configuration. */
export const LIFECYCLE_CONFIG = 'lifecycle';

const DAY = 86_400_000;
const MAX_RULES = 1000;
const MAX_ID = 255;
const MAX_SIZE = 1_099_511_627_776_000;
/** Objects below this do not transition by default (S3's `all_storage_classes_128K`). */
const SMALL_OBJECT = 128 * 1024;
export const TRANSITION_CLASSES: readonly string[] = ['GLACIER', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'DEEP_ARCHIVE', 'GLACIER_IR'];
const INFREQUENT_ACCESS = ['STANDARD_IA', 'ONEZONE_IA'];
/** How cold a class is: transitions only go down this list. */
const COLDNESS: Record<string, number> = {
  STANDARD: 0,
  REDUCED_REDUNDANCY: 0,
  INTELLIGENT_TIERING: 1,
  STANDARD_IA: 2,
  ONEZONE_IA: 3,
  GLACIER_IR: 4,
  GLACIER: 5,
  DEEP_ARCHIVE: 6,
};

export type MinimumObjectSize = 'all_storage_classes_128K' | 'varies_by_storage_class';

/** One rule, checked. Dates are ms since epoch (midnight UTC). */
export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: { prefix: string; tags: { key: string; value: string }[]; greaterThan?: number; lessThan?: number; explicitSize: boolean };
  expiration?: { days?: number; date?: number; expiredObjectDeleteMarker?: boolean };
  transitions: { days?: number; date?: number; storageClass: string }[];
  noncurrentTransitions: { days: number; storageClass: string; newer?: number }[];
  noncurrentExpiration?: { days: number; newer?: number };
  abortDays?: number;
}

/** A checked configuration as stored: S3's document (dates ISO) and the minimum-size setting. */
export interface StoredLifecycle {
  Rules: Record<string, unknown>[];
  TransitionDefaultMinimumObjectSize: MinimumObjectSize;
}

const invalidRequest = (message: string) => new AwsError({ code: 'InvalidRequest', message });
const invalidArgument = (message: string, name?: string, value?: string) =>
  new AwsError({ code: 'InvalidArgument', message, extra: { ...(name ? { ArgumentName: name } : {}), ...(value !== undefined ? { ArgumentValue: value } : {}) } });
const malformed = () =>
  new AwsError({ code: 'MalformedXML', message: 'The XML you provided was not well-formed or did not validate against our published schema' });

export const lifecycleErrors = {
  notFound: (bucket: string) =>
    new AwsError({ code: 'NoSuchLifecycleConfiguration', message: 'The lifecycle configuration does not exist', status: 404, extra: { BucketName: bucket } }),
};

const rec = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Record<string, unknown>) : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const dateOf = (v: unknown): number | undefined => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : undefined);
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map((x) => rec(x) ?? {}) : []);

function midnight(ms: number, name: string): number {
  if (ms % DAY !== 0) throw invalidArgument("'Date' must be at midnight GMT", name, new Date(ms).toISOString());
  return ms;
}

function positive(v: number | undefined, message: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v <= 0) throw invalidArgument(message);
  return v;
}

/** Reads one rule (decoded input or stored document) into its checked form. */
function readRule(raw: Record<string, unknown>, index: number, v2: boolean): LifecycleRule {
  const prefixOnRule = str(raw.Prefix);
  const filterDoc = rec(raw.Filter);
  if (prefixOnRule !== undefined && v2) throw invalidRequest('Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.');
  if (filterDoc !== undefined && !v2) throw invalidRequest('Filter element can only be used in Lifecycle V2.');
  const filter: LifecycleRule['filter'] = { prefix: prefixOnRule ?? '', tags: [], explicitSize: false };
  if (filterDoc) {
    const and = rec(filterDoc.And);
    const predicates = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'].filter((k) => filterDoc[k] !== undefined);
    if (predicates.length > 1) throw malformed();
    const source = and ?? filterDoc;
    filter.prefix = str(source.Prefix) ?? '';
    const tags = and ? list(and.Tags) : rec(filterDoc.Tag) ? [rec(filterDoc.Tag) ?? {}] : [];
    for (const t of tags) {
      const key = str(t.Key);
      if (!key) throw malformed();
      if (filter.tags.some((x) => x.key === key)) throw invalidRequest('Duplicate Tag Keys are not allowed.');
      filter.tags.push({ key, value: str(t.Value) ?? '' });
    }
    const gt = num(source.ObjectSizeGreaterThan);
    const lt = num(source.ObjectSizeLessThan);
    if (gt !== undefined && (gt < 0 || gt > MAX_SIZE)) throw invalidRequest("'ObjectSizeGreaterThan' should be between 0 and 1099511627776000.");
    if (lt !== undefined && (lt < 1 || lt > MAX_SIZE)) throw invalidRequest("'ObjectSizeLessThan' should be between 1 and 1099511627776000.");
    if (gt !== undefined && lt !== undefined && lt <= gt) throw invalidRequest("'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.");
    if (gt !== undefined) filter.greaterThan = gt;
    if (lt !== undefined) filter.lessThan = lt;
    filter.explicitSize = gt !== undefined || lt !== undefined;
  }
  const status = str(raw.Status);
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed();
  const rule: LifecycleRule = { id: str(raw.ID) ?? `rule-${index + 1}`, enabled: status === 'Enabled', filter, transitions: [], noncurrentTransitions: [] };

  const exp = rec(raw.Expiration);
  if (exp) {
    const days = num(exp.Days);
    const date = dateOf(exp.Date);
    const marker = typeof exp.ExpiredObjectDeleteMarker === 'boolean' ? exp.ExpiredObjectDeleteMarker : undefined;
    if ([days, date, marker].filter((x) => x !== undefined).length !== 1) throw malformed();
    if (marker !== undefined) {
      if (filter.tags.length > 0) throw invalidRequest('ExpiredObjectDeleteMarker cannot be specified with Tags.');
      if (filter.explicitSize) throw invalidRequest('ExpiredObjectDeleteMarker cannot be specified with Object Size.');
      rule.expiration = { expiredObjectDeleteMarker: marker };
    } else if (days !== undefined) {
      rule.expiration = { days: positive(days, "'Days' for Expiration action must be a positive integer") ?? 0 };
    } else if (date !== undefined) {
      rule.expiration = { date: midnight(date, 'Date') };
    }
  }
  const classes = new Set<string>();
  for (const t of list(raw.Transitions)) {
    const storageClass = str(t.StorageClass);
    const days = num(t.Days);
    const date = dateOf(t.Date);
    if (!storageClass || !TRANSITION_CLASSES.includes(storageClass) || (days === undefined) === (date === undefined)) throw malformed();
    if (days !== undefined) {
      if (days < 0) throw invalidArgument("'Days' in Transition action must be a nonnegative integer");
      if (days < 30 && INFREQUENT_ACCESS.includes(storageClass)) {
        throw invalidArgument(`'Days' in Transition action must be greater than or equal to 30 for storageClass '${storageClass}'`);
      }
    }
    if (classes.has(storageClass)) throw invalidRequest("'StorageClass' must be different for 'Transition' actions in same 'Rule'");
    classes.add(storageClass);
    rule.transitions.push({ storageClass, ...(days !== undefined ? { days } : {}), ...(date !== undefined ? { date: midnight(date, 'Date') } : {}) });
  }
  const dated = rule.expiration?.date !== undefined || rule.transitions.some((t) => t.date !== undefined);
  const counted = rule.expiration?.days !== undefined || rule.transitions.some((t) => t.days !== undefined);
  if (dated && counted) throw invalidRequest("Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule");
  const expDays = rule.expiration?.days;
  for (const t of rule.transitions) {
    if (expDays !== undefined && t.days !== undefined && expDays <= t.days) {
      throw invalidRequest(`'Days' in the Expiration action must be greater than 'Days' in the Transition action for StorageClass '${t.storageClass}'`);
    }
  }

  const newerOf = (v: unknown): number | undefined => {
    const n = num(v);
    if (n === undefined) return undefined;
    if (!v2) throw invalidRequest('NewerNoncurrentVersions element can only be used in Lifecycle V2.');
    return positive(n, "'NewerNoncurrentVersions' must be a positive integer");
  };
  const noncurrentClasses = new Set<string>();
  for (const t of list(raw.NoncurrentVersionTransitions)) {
    const storageClass = str(t.StorageClass);
    const days = num(t.NoncurrentDays);
    if (!storageClass || !TRANSITION_CLASSES.includes(storageClass) || days === undefined) throw malformed();
    if (days < 0) throw invalidArgument("'NoncurrentDays' in NoncurrentVersionTransition action must be a nonnegative integer");
    if (days < 30 && INFREQUENT_ACCESS.includes(storageClass)) {
      throw invalidArgument(`'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass '${storageClass}'`);
    }
    if (noncurrentClasses.has(storageClass)) throw invalidRequest("'StorageClass' must be different for 'NoncurrentVersionTransition' actions in same 'Rule'");
    noncurrentClasses.add(storageClass);
    const newer = newerOf(t.NewerNoncurrentVersions);
    rule.noncurrentTransitions.push({ storageClass, days, ...(newer !== undefined ? { newer } : {}) });
  }
  const nce = rec(raw.NoncurrentVersionExpiration);
  if (nce) {
    const days = num(nce.NoncurrentDays);
    if (days === undefined) throw malformed();
    const newer = newerOf(nce.NewerNoncurrentVersions);
    rule.noncurrentExpiration = {
      days: positive(days, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer") ?? 0,
      ...(newer !== undefined ? { newer } : {}),
    };
  }
  const abort = rec(raw.AbortIncompleteMultipartUpload);
  if (abort) {
    const days = num(abort.DaysAfterInitiation);
    if (days === undefined) throw malformed();
    if (filter.tags.length > 0) throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Tags.');
    if (filter.explicitSize) throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Object Size.');
    rule.abortDays = positive(days, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer") ?? 0;
  }
  if (!rule.expiration && rule.transitions.length === 0 && rule.noncurrentTransitions.length === 0 && !rule.noncurrentExpiration && rule.abortDays === undefined) {
    throw invalidRequest('At least one action needs to be specified in a rule');
  }
  return rule;
}

/** Reads a configuration's rules; throws S3's errors for an invalid one. */
export function readRules(doc: Record<string, unknown>[]): LifecycleRule[] {
  if (doc.length === 0) throw malformed();
  if (doc.length > MAX_RULES) throw invalidRequest('The number of lifecycle rules must not exceed the allowed limit of 1000 rules.');
  const ids = new Set<string>();
  for (const r of doc) {
    const id = str(r.ID);
    if (id === undefined || id === '') continue;
    if (id.length > MAX_ID) throw invalidArgument('ID length should not exceed allowed limit of 255', 'ID', id);
    if (ids.has(id)) throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule', 'ID', id);
    ids.add(id);
  }
  const v2 = doc[0]?.Filter !== undefined;
  return doc.map((r, i) => readRule(r, i, v2));
}

/**
 * Checks a PutBucketLifecycleConfiguration document and returns what to store: the rules
 * as given (dates as ISO text) with the minimum-size setting.
 */
export function checkLifecycleConfiguration(config: Record<string, unknown> | undefined, minimumSize: string | undefined): StoredLifecycle {
  const rules = list(config?.Rules);
  readRules(rules);
  if (minimumSize !== undefined && minimumSize !== 'all_storage_classes_128K' && minimumSize !== 'varies_by_storage_class') {
    throw invalidRequest('Invalid TransitionDefaultMinimumObjectSize found');
  }
  const iso = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(iso) : rec(v) ? Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, iso(x)])) : v);
  return { Rules: rules.map((r) => iso(r) as Record<string, unknown>), TransitionDefaultMinimumObjectSize: (minimumSize) ?? 'all_storage_classes_128K' };
}

/** A stored configuration as S3 returns it (dates as Date). */
export function storedToOutput(stored: StoredLifecycle): Record<string, unknown> {
  const dates = (v: unknown, key = ''): unknown =>
    key === 'Date' && typeof v === 'string'
      ? new Date(v)
      : Array.isArray(v)
        ? v.map((x) => dates(x))
        : rec(v)
          ? Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, dates(x, k)]))
          : v;
  return { Rules: dates(stored.Rules), TransitionDefaultMinimumObjectSize: stored.TransitionDefaultMinimumObjectSize };
}

/** When an action `days` after `from` falls due: S3 rounds up to the next midnight UTC. */
export function dueAfter(from: number, days: number): number {
  return Math.ceil((from + days * DAY) / DAY) * DAY;
}

/** An object's tags, for tag filters (kept by tagging under the `tags` attribute as JSON). */
function tagsOf(info: ObjectInfo): Record<string, string> {
  const text = info.attributes.tags;
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}

function matches(rule: LifecycleRule, info: ObjectInfo): boolean {
  const f = rule.filter;
  if (!info.key.startsWith(f.prefix)) return false;
  if (f.greaterThan !== undefined && !(info.size > f.greaterThan)) return false;
  if (f.lessThan !== undefined && !(info.size < f.lessThan)) return false;
  if (f.tags.length > 0) {
    const tags = tagsOf(info);
    if (!f.tags.every((t) => tags[t.key] === t.value)) return false;
  }
  return true;
}

/** Whether the default minimum-size behaviour keeps an object from moving to `storageClass`. */
function tooSmall(rule: LifecycleRule, info: ObjectInfo, storageClass: string, minimum: MinimumObjectSize): boolean {
  if (rule.filter.explicitSize || info.size >= SMALL_OBJECT) return false;
  return minimum === 'all_storage_classes_128K' || !['GLACIER', 'DEEP_ARCHIVE'].includes(storageClass);
}

/** What one run did. */
export interface LifecycleReport {
  transitioned: number;
  expired: number;
  deleteMarkersAdded: number;
  noncurrentExpired: number;
  uploadsAborted: number;
  /** Actions a guard refused (a locked version). */
  refused: number;
}

export interface LifecycleEngineDeps {
  store: ObjectStoreEngine;
  clock: Clock;
}

/**
 * Applies every bucket's lifecycle configuration as of a time.
 *
 * @example
 * const lifecycle = new LifecycleEngine({ store, clock });
 * await lifecycle.run(); // from a timer, or from a test after advancing a ManualClock
 */
export class LifecycleEngine {
  private running: Promise<LifecycleReport> | undefined;

  constructor(private readonly deps: LifecycleEngineDeps) {}

  /** Runs once (a run already under way is joined, not repeated). */
  run(now = this.deps.clock.now()): Promise<LifecycleReport> {
    this.running ??= this.runAll(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runAll(now: number): Promise<LifecycleReport> {
    const report: LifecycleReport = { transitioned: 0, expired: 0, deleteMarkersAdded: 0, noncurrentExpired: 0, uploadsAborted: 0, refused: 0 };
    for (const bucket of await this.deps.store.listBuckets()) {
      const text = this.deps.store.bucketConfig(bucket.name, LIFECYCLE_CONFIG);
      if (text === undefined || bucket.mfaDelete === 'Enabled') continue;
      const stored = JSON.parse(text) as StoredLifecycle;
      const rules = readRules(stored.Rules).filter((r) => r.enabled);
      if (rules.length === 0) continue;
      await this.runBucket(bucket, rules, stored.TransitionDefaultMinimumObjectSize, now, report);
    }
    return report;
  }

  private async runBucket(bucket: BucketInfo, rules: LifecycleRule[], minimum: MinimumObjectSize, now: number, report: LifecycleReport): Promise<void> {
    const store = this.deps.store;
    // Versions come newest first within a key; collect a key's versions, then act on them.
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    let group: ObjectInfo[] = [];
    const flush = async (): Promise<void> => {
      if (group.length > 0) await this.runKey(bucket, group, rules, minimum, now, report);
      group = [];
    };
    for (;;) {
      const page = await store.listObjectVersions(bucket.name, {
        ...(keyMarker !== undefined ? { keyMarker } : {}),
        ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
      });
      for (const v of page.versions) {
        if (group.length > 0 && group[0]?.key !== v.key) await flush();
        group.push(v);
      }
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
    await flush();

    const abortRules = rules.filter((r) => r.abortDays !== undefined);
    if (abortRules.length > 0) {
      let uploadKey: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await store.listMultipartUploads(bucket.name, {
          ...(uploadKey !== undefined ? { keyMarker: uploadKey } : {}),
          ...(uploadIdMarker !== undefined ? { uploadIdMarker } : {}),
        });
        for (const u of page.uploads) {
          const due = abortRules.some((r) => u.key.startsWith(r.filter.prefix) && dueAfter(u.initiated, r.abortDays ?? 0) <= now);
          if (!due) continue;
          try {
            await store.abortMultipartUpload(bucket.name, u.key, u.uploadId);
            report.uploadsAborted++;
          } catch {
            // Completed or aborted meanwhile.
          }
        }
        if (!page.isTruncated) break;
        uploadKey = page.nextKeyMarker;
        uploadIdMarker = page.nextUploadIdMarker;
      }
    }
  }

  /** Acts on one key's versions (newest first). */
  private async runKey(bucket: BucketInfo, versions: ObjectInfo[], rules: LifecycleRule[], minimum: MinimumObjectSize, now: number, report: LifecycleReport): Promise<void> {
    const store = this.deps.store;
    const attempt = async (fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch {
        // A guard refused (Object Lock) or the version changed meanwhile: try again next run.
        report.refused++;
        return false;
      }
    };
    const [current, ...older] = versions;
    if (!current) return;
    const remaining = new Set(versions.map((v) => v.versionId));

    // Noncurrent versions: each became noncurrent when the next newer version was written.
    for (let i = 0; i < older.length; i++) {
      const v = older[i];
      const successor = versions[i];
      if (!v || !successor) continue;
      const since = successor.lastModified;
      const newerNoncurrent = i;
      const expire = rules.find(
        (r) => r.noncurrentExpiration && matches(r, v) && dueAfter(since, r.noncurrentExpiration.days) <= now && newerNoncurrent >= (r.noncurrentExpiration.newer ?? 0),
      );
      if (expire) {
        if (await attempt(() => store.deleteObject(bucket.name, v.key, { versionId: v.versionId, context: lifecycleContext() }))) {
          report.noncurrentExpired++;
          remaining.delete(v.versionId);
        }
        continue;
      }
      if (v.deleteMarker) continue;
      const target = coldestDue(
        rules.flatMap((r) =>
          matches(r, v) ? r.noncurrentTransitions.filter((t) => newerNoncurrent >= (t.newer ?? 0) && dueAfter(since, t.days) <= now && !tooSmall(r, v, t.storageClass, minimum)) : [],
        ),
        v.storageClass,
      );
      if (target && (await attempt(() => store.setStorageClass(bucket.name, v.key, v.versionId, target)))) report.transitioned++;
    }

    if (current.deleteMarker) {
      // An expired-object delete marker: no versions left beneath it.
      const alone = remaining.size === 1;
      if (alone && rules.some((r) => r.expiration?.expiredObjectDeleteMarker === true && matches(r, current))) {
        if (await attempt(() => store.deleteObject(bucket.name, current.key, { versionId: current.versionId, context: lifecycleContext() }))) report.expired++;
      }
      return;
    }

    const expiring = rules.some((r) => {
      const e = r.expiration;
      if (!e || !matches(r, current)) return false;
      if (e.days !== undefined) return dueAfter(current.lastModified, e.days) <= now;
      return e.date !== undefined && e.date <= now;
    });
    if (expiring) {
      const ok = await attempt(() => store.deleteObject(bucket.name, current.key, { context: lifecycleContext() }));
      if (ok) {
        if (bucket.versioning === 'Enabled') report.deleteMarkersAdded++;
        else report.expired++;
      }
      return;
    }
    const target = coldestDue(
      rules.flatMap((r) =>
        matches(r, current)
          ? r.transitions.filter(
              (t) => (t.days !== undefined ? dueAfter(current.lastModified, t.days) <= now : (t.date ?? Infinity) <= now) && !tooSmall(r, current, t.storageClass, minimum),
            )
          : [],
      ),
      current.storageClass,
    );
    if (target && (await attempt(() => store.setStorageClass(bucket.name, current.key, current.versionId, target)))) report.transitioned++;
  }
}

/** The coldest class among due transitions, if colder than the object's class now. */
function coldestDue(due: { storageClass: string }[], currentClass: string): string | undefined {
  let best: string | undefined;
  for (const t of due) {
    if ((COLDNESS[t.storageClass] ?? 0) <= (COLDNESS[best ?? currentClass] ?? 0)) continue;
    best = t.storageClass;
  }
  return best;
}

/** The context of a lifecycle action: no caller facts, so no governance bypass and no MFA. */
function lifecycleContext(): { requestId: string; lifecycle: true } {
  return { requestId: 'lifecycle', lifecycle: true };
}
