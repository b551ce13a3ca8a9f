/**
 * The integrity engine's persisted state: signing keys, each digest chain (one per trail
 * and Region) with the digest being written (the write-ahead intent that makes a retry
 * after a crash write the same digest), and the log files delivered but not yet digested.
 * The engine (engine.ts) and the keys (keys.ts) own every rule; a store only keeps rows.
 * Calls are synchronous (see trails/store.ts for why).
 */

/** A signing key as stored: the private key sealed under the master key. */
export interface SigningKeyRecord {
  region: string;
  fingerprint: string;
  /** PKCS#1 `RSAPublicKey` DER. */
  publicDer: Buffer;
  sealedPrivate: Buffer;
  validFrom: number;
  validUntil: number;
}

/** The previous digest, as the next one links to it. */
export interface PreviousDigest {
  bucket: string;
  key: string;
  /** Hex SHA-256 of its uncompressed content. */
  hash: string;
  /** Its hex signature. */
  signature: string;
}

/** A digest being written: everything that fixes its bytes, so a retry repeats it exactly. */
export interface PendingDigest {
  startTime: number;
  endTime: number;
  bucket: string;
  key: string;
  fingerprint: string;
  /** The chain's last digest (logging stopped, trail deleted, validation turned off). */
  final: boolean;
}

/** One trail's digest chain in one Region. */
export interface DigestChain {
  trailArn: string;
  region: string;
  trailCreatedAt: number;
  accountId: string;
  homeRegion: string;
  trailName: string;
  /** Where the trail's files went when last seen (used for the final digest of a deleted trail). */
  bucket: string;
  s3KeyPrefix?: string;
  /** The start of the next digest's time range (ms). */
  startTime: number;
  previous?: PreviousDigest;
  /** Set when the chain must end (StopLogging, DeleteTrail, validation off): since when (ms). */
  endingSince?: number;
  pending?: PendingDigest;
}

/** A delivered log file the engine learned of; `digestKey` set once a digest lists it. */
export interface DigestedLogFile {
  trailArn: string;
  region: string;
  bucket: string;
  key: string;
  /** Hex SHA-256 of the uncompressed file. */
  sha256: string;
  oldestEventTime: number;
  newestEventTime: number;
  registeredAt: number;
  digestKey?: string;
}

/** The integrity state store. */
export interface IntegrityStore {
  getKey(region: string, fingerprint: string): SigningKeyRecord | undefined;
  listKeys(region: string): SigningKeyRecord[];
  putKey(key: SigningKeyRecord): void;

  getChain(trailArn: string, region: string): DigestChain | undefined;
  listChains(): DigestChain[];
  putChain(chain: DigestChain): void;
  removeChain(trailArn: string, region: string): void;

  /** Records a log file; a file already known (a retried delivery) is left as it is. */
  addLogFile(file: DigestedLogFile): void;
  /** Assigns every not-yet-digested file of the chain to `digestKey`, at time `at` (ms). */
  assignLogFiles(trailArn: string, region: string, digestKey: string, at: number): void;
  /** The files a digest lists, in delivery order. */
  logFilesOf(digestKey: string): DigestedLogFile[];
  /** Forgets files digested before `before` (ms), long after any retry could repeat them. */
  pruneLogFiles(before: number): void;
  /** Runs `fn` in one transaction. */
  atomically<T>(fn: () => T): T;
}

/** The signing key part of the store, all {@link SigningKeys} needs. */
export type SigningKeyStore = Pick<IntegrityStore, 'getKey' | 'listKeys' | 'putKey'>;
