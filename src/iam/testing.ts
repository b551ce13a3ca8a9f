/**
 * Test fixtures for the identity engine and the iam/sts services: an engine on an
 * in-memory state database with a manual clock, and policy documents in IAM's grammar.
 */
import { ManualClock } from '../platform/clock.js';
import { cryptoRandom } from '../platform/ids.js';
import { openStateDatabase, type SqliteDatabase } from '../storage/sqlite.js';
import { Identities, type ManagementAccount } from './identities.js';
import { SqliteIdentityStore } from './sqlite-store.js';

export interface IdentityFixture {
  db: SqliteDatabase;
  store: SqliteIdentityStore;
  clock: ManualClock;
  identities: Identities;
  root: ManagementAccount;
}

/** A fresh engine with its management account, at 2026-01-01T00:00:00Z. */
export function identityFixture(): IdentityFixture {
  const db = openStateDatabase(':memory:');
  const store = new SqliteIdentityStore(db);
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const identities = new Identities({ store, clock, random: cryptoRandom });
  const root = identities.ensureManagementAccount();
  return { db, store, clock, identities, root };
}

/** An identity policy allowing `action` on `resource`. */
export function allowPolicy(action: string | string[], resource = '*'): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] });
}

/** An identity policy denying `action` on `resource`. */
export function denyPolicy(action: string | string[], resource = '*'): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: action, Resource: resource }] });
}

/** A role trust policy letting the given AWS principals (ARNs or account ids) assume the role. */
export function trustPolicy(...principals: string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: principals }, Action: 'sts:AssumeRole' }],
  });
}
