/**
 * The KMS store's contract: keys (with their key material sealed under the data
 * directory's master key, never in the clear) and aliases. The `Kms` engine (kms.ts)
 * owns every rule; a store only keeps rows. Calls are synchronous, as the identity
 * store's are, because the embedded backend answers without a round trip.
 */

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** A KMS key (symmetric, ENCRYPT_DECRYPT, AWS_KMS origin: the only kind served). */
export interface KeyRecord {
  /** A UUID, unique across accounts and Regions. */
  keyId: string;
  accountId: string;
  region: string;
  arn: string;
  description: string;
  state: KeyState;
  createdAt: number;
  /** When a key pending deletion is deleted (ms since epoch). */
  deletionDate?: number;
  /** The key policy's text, as submitted (or the default policy). */
  policy: string;
  /** The 32-byte key material, sealed by crypto.ts `sealKeyMaterial`. */
  sealedMaterial: Buffer;
  /** Tags given to CreateKey, kept as given. */
  tags: { TagKey: string; TagValue: string }[];
}

export interface AliasRecord {
  accountId: string;
  region: string;
  /** `alias/...`, case-sensitive as KMS treats it. */
  aliasName: string;
  targetKeyId: string;
  createdAt: number;
  updatedAt: number;
}

/** Rows of keys and aliases; see the module comment. */
export interface KmsStore {
  /** Runs `fn` atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T;

  getKey(keyId: string): KeyRecord | undefined;
  /** One account's keys in one Region, oldest first (ties by key id). */
  listKeys(accountId: string, region: string): KeyRecord[];
  /** Keys pending deletion whose deletion date is at or before `now`. */
  listKeysDueForDeletion(now: number): KeyRecord[];
  insertKey(key: KeyRecord): void;
  updateKeyState(keyId: string, state: KeyState, deletionDate: number | undefined): void;
  updateKeyPolicy(keyId: string, policy: string): void;
  updateKeyDescription(keyId: string, description: string): void;
  /** Deletes the key and every alias pointing at it. */
  deleteKey(keyId: string): void;

  getAlias(accountId: string, region: string, aliasName: string): AliasRecord | undefined;
  /** Ordered by name. */
  listAliases(accountId: string, region: string): AliasRecord[];
  insertAlias(alias: AliasRecord): void;
  retargetAlias(accountId: string, region: string, aliasName: string, targetKeyId: string, at: number): void;
  deleteAlias(accountId: string, region: string, aliasName: string): void;
}
