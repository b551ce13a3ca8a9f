/**
 * The digest engine: for each trail with log file validation on, one chain of signed
 * digest files per Region, a digest every digest interval (an hour by default) listing
 * the log files delivered since the previous one (none is fine: `logFiles: []`), and a
 * final digest when logging stops, the trail is deleted or validation is turned off.
 *
 * The delivery engine tells it of each log file once the file is in its bucket
 * ({@link DigestEngine.logFileDelivered}), so a digest only ever lists files that exist.
 * A digest is first written down as an intent (its time range, key, signing key, and the
 * files assigned to it, in one transaction), then written, and only then does the chain
 * move on: after a crash the same intent yields the same bytes and signature, so the
 * chain resumes with neither a gap nor a duplicate. A file delivered twice (a retried
 * delivery) is recorded once, so no file is listed by two digests.
 */
import { SerialRunner } from '../platform/serial.js';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { encryptionAttributes } from '../objectstore/access/encryption.js';
import type { ObjectStore } from '../objectstore/store.js';
import type { Clock } from '../platform/clock.js';
import { isAwsError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { TrailRecord } from '../trails/store.js';
import type { Trails } from '../trails/trails.js';
import {
  HASH_ALGORITHM,
  SIGNATURE_ALGORITHM,
  digestJson,
  digestKey,
  formatDigestTime,
  sha256Hex,
  signDigest,
  signingString,
  type DigestDocument,
} from './digest.js';
import type { SigningKeys } from './keys.js';
import type { DigestChain, IntegrityStore, PendingDigest } from './store.js';

const gzipAsync = promisify(gzip);

/** CloudTrail's digest interval. */
export const DEFAULT_DIGEST_INTERVAL_MS = 60 * 60 * 1000;
/** How long a final digest waits for delivery to write the trail's last log files. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10 * 60 * 1000;
/** Files are remembered this long after their digest, past any retry that could repeat them. */
const FORGET_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** A log file the delivery engine wrote, as the digest engine learns of it. */
export interface DeliveredLogFile {
  trail: TrailRecord;
  /** The Region whose events the file holds. */
  region: string;
  bucket: string;
  key: string;
  /** Hex SHA-256 of the uncompressed file. */
  sha256: string;
  oldestEventTime: number;
  newestEventTime: number;
}

/** One digest written. */
export interface WrittenDigest {
  trailArn: string;
  region: string;
  bucket: string;
  key: string;
  logFiles: number;
  final: boolean;
}

/** What a pass did. */
export interface DigestReport {
  digests: WrittenDigest[];
  failures: { trailArn: string; region: string; error: string }[];
}

/** What the engine needs. */
export interface DigestEngineOptions {
  trails: Pick<Trails, 'listLoggingTrails' | 'find' | 'recordDelivery'>;
  objects: Pick<ObjectStore, 'putObject'>;
  store: IntegrityStore;
  keys: Pick<SigningKeys, 'current' | 'byFingerprint'>;
  clock: Clock;
  logger?: Logger;
  /** The digest interval (ms), an hour by default. */
  intervalMs?: number;
  /**
   * True once delivery has written every log file of the trail's stopped logging, so the
   * final digest lists them (delivery.ts `settled`). Without it the final digest is not delayed.
   */
  deliverySettled?: (trailArn: string) => boolean;
  settleTimeoutMs?: number;
}

interface Backoff {
  failures: number;
  retryAt: number;
}

const floorSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;
const chainId = (c: { trailArn: string; region: string }): string => `${c.trailArn}\n${c.region}`;

/**
 * The digest engine.
 *
 * @example
 * const digests = new DigestEngine({ trails, objects, store, keys, clock });
 * jobs.every('trail-digests', 1000, () => digests.tick()); // a digest per chain every interval
 * await digests.digestNow();                                // or right away (tests)
 */
export class DigestEngine {
  private readonly intervalMs: number;
  private readonly settleTimeoutMs: number;
  private readonly backoff = new Map<string, Backoff>();
  private readonly passes = new SerialRunner();
  private prunedAt = -Infinity;

  constructor(private readonly opts: DigestEngineOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_DIGEST_INTERVAL_MS;
    this.settleTimeoutMs = opts.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  }

  /** The digest interval in ms. */
  get interval(): number {
    return this.intervalMs;
  }

  /**
   * Delivery calls this after each log file is in its bucket (and again, harmlessly, when
   * a retried delivery rewrites it). Files of trails without validation are not digested.
   */
  logFileDelivered(file: DeliveredLogFile): void {
    const { trail } = file;
    if (!trail.config.logFileValidationEnabled) return;
    const { store, clock } = this.opts;
    const now = clock.now();
    store.atomically(() => {
      const chain = store.getChain(trail.trailArn, file.region);
      if (!chain || chain.trailCreatedAt !== trail.createdAt) this.startChain(trail, file.region, now);
      store.addLogFile({
        trailArn: trail.trailArn,
        region: file.region,
        bucket: file.bucket,
        key: file.key,
        sha256: file.sha256,
        oldestEventTime: file.oldestEventTime,
        newestEventTime: file.newestEventTime,
        registeredAt: now,
      });
    });
  }

  /**
   * Trails calls this when a trail starts or stops logging: a start with validation on
   * begins the home Region's chain now; a stop marks every chain of the trail to end
   * (its final digest waits for delivery's last files).
   */
  loggingChanged(trail: TrailRecord, isLogging: boolean): void {
    const { store, clock } = this.opts;
    const now = clock.now();
    store.atomically(() => {
      if (isLogging) {
        if (trail.config.logFileValidationEnabled && !store.getChain(trail.trailArn, trail.homeRegion)) {
          this.startChain(trail, trail.homeRegion, now);
        }
        return;
      }
      for (const chain of store.listChains()) {
        if (chain.trailArn !== trail.trailArn || chain.endingSince !== undefined) continue;
        store.putChain({ ...chain, endingSince: now });
      }
    });
  }

  /** Runs a pass (after any pass in progress): digests that are due by the clock, final digests, and retries. */
  async tick(): Promise<DigestReport> {
    return this.enqueue(() => this.pass(false));
  }

  /** Writes a digest for every chain now, ignoring the schedule and backoff (tests, benchmarks). */
  digestNow(): Promise<DigestReport> {
    return this.enqueue(() => this.pass(true));
  }

  /** Refuses further passes and waits for one in progress to finish. */
  async stop(): Promise<void> {
    await this.passes.stop();
  }

  private enqueue(fn: () => Promise<DigestReport>): Promise<DigestReport> {
    return this.passes.run(fn, () => ({ digests: [], failures: [] }));
  }

  private startChain(trail: TrailRecord, region: string, now: number): DigestChain {
    const chain: DigestChain = {
      trailArn: trail.trailArn,
      region,
      trailCreatedAt: trail.createdAt,
      accountId: trail.accountId,
      homeRegion: trail.homeRegion,
      trailName: trail.name,
      bucket: trail.config.s3BucketName,
      ...(trail.config.s3KeyPrefix !== undefined ? { s3KeyPrefix: trail.config.s3KeyPrefix } : {}),
      startTime: floorSecond(now),
    };
    this.opts.store.putChain(chain);
    return chain;
  }

  private async pass(force: boolean): Promise<DigestReport> {
    const report: DigestReport = { digests: [], failures: [] };
    const { store, clock } = this.opts;
    const now = clock.now();
    this.reconcile(now);
    for (const chain of store.listChains()) {
      const id = chainId(chain);
      const backoff = this.backoff.get(id);
      if (!force && backoff && backoff.retryAt > now) continue;
      let pending = chain.pending;
      if (!pending) {
        const decision = this.decide(chain, now, force);
        if (!decision) continue;
        pending = await this.plan(chain, now, decision.final);
        if (!pending) continue;
      }
      await this.write(chain.trailArn, chain.region, pending, report);
    }
    if (now - this.prunedAt >= HOUR_MS) {
      store.pruneLogFiles(now - FORGET_AFTER_MS);
      this.prunedAt = now;
    }
    // A chain that just ended on a restarted trail begins again at once.
    this.reconcile(clock.now());
    return report;
  }

  /** Starts the home Region's chain of logging trails with validation; marks chains whose trail stopped, went or turned validation off. */
  private reconcile(now: number): void {
    const { store, trails } = this.opts;
    store.atomically(() => {
      const chains = store.listChains();
      const have = new Set(chains.map(chainId));
      for (const trail of trails.listLoggingTrails()) {
        if (!trail.config.logFileValidationEnabled) continue;
        if (!have.has(chainId({ trailArn: trail.trailArn, region: trail.homeRegion }))) this.startChain(trail, trail.homeRegion, now);
      }
      for (const chain of chains) {
        if (chain.pending || chain.endingSince !== undefined) continue;
        const trail = trails.find(chain.accountId, chain.homeRegion, chain.trailArn);
        const gone = !trail || trail.createdAt !== chain.trailCreatedAt;
        if (gone || !trail.status.isLogging || !trail.config.logFileValidationEnabled) {
          store.putChain({ ...chain, endingSince: now });
        } else if (trail.config.s3BucketName !== chain.bucket || trail.config.s3KeyPrefix !== chain.s3KeyPrefix) {
          // The next digest goes where the trail now delivers; it still links to the previous one.
          const next: DigestChain = { ...chain, bucket: trail.config.s3BucketName };
          if (trail.config.s3KeyPrefix !== undefined) next.s3KeyPrefix = trail.config.s3KeyPrefix;
          else delete next.s3KeyPrefix;
          store.putChain(next);
        }
      }
    });
  }

  /** Whether the chain gets a digest in this pass, and whether it is the last. */
  private decide(chain: DigestChain, now: number, force: boolean): { final: boolean } | undefined {
    if (chain.endingSince !== undefined) {
      const trail = this.opts.trails.find(chain.accountId, chain.homeRegion, chain.trailArn);
      const gone = !trail || trail.createdAt !== chain.trailCreatedAt;
      const settled = gone || (this.opts.deliverySettled?.(chain.trailArn) ?? true);
      if (settled || now - chain.endingSince >= this.settleTimeoutMs) return { final: true };
      return force ? { final: false } : undefined;
    }
    if (force || now >= chain.startTime + this.intervalMs) return { final: false };
    return undefined;
  }

  /** Writes down the digest's intent and assigns it the chain's undigested files, in one transaction. */
  private async plan(chain: DigestChain, now: number, final: boolean): Promise<PendingDigest | undefined> {
    const { store, keys } = this.opts;
    const key = await keys.current(chain.region);
    return store.atomically(() => {
      const current = store.getChain(chain.trailArn, chain.region);
      if (!current) return undefined;
      if (current.pending) return current.pending;
      // Whole seconds, strictly after the start, so every digest of the chain has its own name.
      const endTime = Math.max(floorSecond(now), current.startTime + 1000);
      const bucket = current.bucket;
      const objectKey = digestKey({
        accountId: current.accountId,
        region: current.region,
        trailName: current.trailName,
        homeRegion: current.homeRegion,
        endTime,
        ...(current.s3KeyPrefix !== undefined ? { s3KeyPrefix: current.s3KeyPrefix } : {}),
      });
      const pending: PendingDigest = { startTime: current.startTime, endTime, bucket, key: objectKey, fingerprint: key.fingerprint, final };
      store.assignLogFiles(current.trailArn, current.region, `${bucket}/${objectKey}`, now);
      store.putChain({ ...current, pending });
      return pending;
    });
  }

  /** Builds, signs and puts the digest, then moves the chain on (or keeps the intent for a retry). */
  private async write(trailArn: string, region: string, pending: PendingDigest, report: DigestReport): Promise<void> {
    const { store, objects, keys, clock, trails } = this.opts;
    const chain = store.getChain(trailArn, region);
    if (!chain) return;
    const id = chainId(chain);
    const trailKey = { accountId: chain.accountId, homeRegion: chain.homeRegion, name: chain.trailName };
    try {
      const signer = keys.byFingerprint(region, pending.fingerprint);
      if (!signer) throw new Error(`the signing key ${pending.fingerprint} of ${region} is gone`);
      const files = store.logFilesOf(`${pending.bucket}/${pending.key}`);
      const previous = chain.previous;
      const doc: DigestDocument = {
        awsAccountId: chain.accountId,
        digestStartTime: formatDigestTime(pending.startTime),
        digestEndTime: formatDigestTime(pending.endTime),
        digestS3Bucket: pending.bucket,
        digestS3Object: pending.key,
        digestPublicKeyFingerprint: signer.fingerprint,
        digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
        newestEventTime: files.length > 0 ? formatDigestTime(Math.max(...files.map((f) => f.newestEventTime))) : null,
        oldestEventTime: files.length > 0 ? formatDigestTime(Math.min(...files.map((f) => f.oldestEventTime))) : null,
        previousDigestS3Bucket: previous?.bucket ?? null,
        previousDigestS3Object: previous?.key ?? null,
        previousDigestHashValue: previous?.hash ?? null,
        previousDigestHashAlgorithm: previous ? HASH_ALGORITHM : null,
        previousDigestSignature: previous?.signature ?? null,
        logFiles: files.map((f) => ({
          s3Bucket: f.bucket,
          s3Object: f.key,
          hashValue: f.sha256,
          hashAlgorithm: HASH_ALGORITHM,
          newestEventTime: formatDigestTime(f.newestEventTime),
          oldestEventTime: formatDigestTime(f.oldestEventTime),
        })),
      };
      const json = Buffer.from(digestJson(doc), 'utf8');
      const signature = signDigest(signer.privateKey, signingString(doc, json));
      await objects.putObject(pending.bucket, pending.key, await gzipAsync(json), {
        metadata: { signature, 'signature-algorithm': SIGNATURE_ALGORITHM },
        headers: { contentType: 'application/json', contentEncoding: 'gzip' },
        // Digest files are always SSE-S3, whatever key the trail's log files use.
        attributes: encryptionAttributes({ algorithm: 'AES256' }),
        context: { accountId: chain.accountId, headers: { 'x-amz-server-side-encryption': 'AES256' } },
      });
      store.atomically(() => {
        const current = store.getChain(trailArn, region);
        if (!current || current.pending?.key !== pending.key) return;
        if (pending.final) {
          store.removeChain(trailArn, region);
          return;
        }
        const next: DigestChain = {
          ...current,
          startTime: pending.endTime,
          previous: { bucket: pending.bucket, key: pending.key, hash: sha256Hex(json), signature },
        };
        delete next.pending;
        store.putChain(next);
      });
      this.backoff.delete(id);
      report.digests.push({ trailArn, region, bucket: pending.bucket, key: pending.key, logFiles: files.length, final: pending.final });
      trails.recordDelivery(trailKey, { kind: 'digest', at: clock.now() });
    } catch (e) {
      const error = isAwsError(e) ? e.code : 'InternalError';
      const failures = (this.backoff.get(id)?.failures ?? 0) + 1;
      this.backoff.set(id, { failures, retryAt: clock.now() + Math.min(this.intervalMs, 1000 * 2 ** Math.min(failures - 1, 20)) });
      report.failures.push({ trailArn, region, error });
      trails.recordDelivery(trailKey, { kind: 'digest', at: clock.now(), error });
      this.opts.logger?.warn({ err: e, trailArn, region, bucket: pending.bucket, key: pending.key }, 'digest delivery failed');
    }
  }
}
