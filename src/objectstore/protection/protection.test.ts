import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../store.js';
import { readable, restoreAttributes, restoreHeader, restoreState } from './archive.js';
import { checkLifecycleConfiguration, dueAfter, readRules } from './lifecycle.js';
import { checkDeletable, checkLockConfiguration, checkRetentionChange, defaultRetention, lockState } from './lock.js';
import { parseMfaHeader } from './mfa.js';

const DAY = 86_400_000;
const now = Date.parse('2026-03-10T15:30:00Z');

function version(attributes: Record<string, string>, extra: Partial<ObjectInfo> = {}): ObjectInfo {
  return {
    bucket: 'b',
    key: 'k',
    versionId: 'v',
    isLatest: true,
    deleteMarker: false,
    size: 1,
    etag: '""',
    lastModified: now,
    metadata: {},
    headers: {},
    storageClass: 'STANDARD',
    owner: '1',
    attributes,
    ...extra,
  };
}

describe('Object Lock rules', () => {
  const locked = (mode: string, until: number) => version({ 'object-lock-mode': mode, 'object-lock-retain-until': new Date(until).toISOString() });

  it('refuses deleting COMPLIANCE always, GOVERNANCE without a bypass, and held versions', () => {
    expect(() => checkDeletable(locked('COMPLIANCE', now + DAY), now, true)).toThrow('object lock');
    expect(() => checkDeletable(locked('GOVERNANCE', now + DAY), now, false)).toThrow('object lock');
    expect(() => checkDeletable(locked('GOVERNANCE', now + DAY), now, true)).not.toThrow();
    expect(() => checkDeletable(locked('COMPLIANCE', now - 1), now, false)).not.toThrow();
    expect(() => checkDeletable(version({ 'object-lock-legal-hold': 'ON' }), now, true)).toThrow('object lock');
  });

  it('allows extending a retention, and shortening only GOVERNANCE with a bypass', () => {
    const compliance = lockState(locked('COMPLIANCE', now + DAY).attributes);
    expect(() => checkRetentionChange(compliance, { mode: 'COMPLIANCE', retainUntil: now + 2 * DAY }, now, false)).not.toThrow();
    expect(() => checkRetentionChange(compliance, { mode: 'COMPLIANCE', retainUntil: now + 1 }, now, true)).toThrow();
    expect(() => checkRetentionChange(compliance, undefined, now, true)).toThrow();
    const governance = lockState(locked('GOVERNANCE', now + DAY).attributes);
    expect(() => checkRetentionChange(governance, { mode: 'GOVERNANCE', retainUntil: now + 1 }, now, false)).toThrow();
    expect(() => checkRetentionChange(governance, { mode: 'GOVERNANCE', retainUntil: now + 1 }, now, true)).not.toThrow();
  });

  it('checks lock configurations as S3 does and computes default retention', () => {
    expect(() => checkLockConfiguration({ ObjectLockEnabled: 'Disabled' })).toThrow('XML');
    expect(() => checkLockConfiguration({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1, Years: 1 } } })).toThrow('XML');
    expect(() => checkLockConfiguration({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 0 } } })).toThrow('positive');
    expect(() => checkLockConfiguration({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Years: 101 } } })).toThrow('too large');
    const config = checkLockConfiguration({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } } });
    expect(defaultRetention(config, now)).toEqual({ 'object-lock-mode': 'COMPLIANCE', 'object-lock-retain-until': '2027-03-10T15:30:00.000Z' });
  });
});

describe('MFA header', () => {
  it('is a serial number and a code separated by a space', () => {
    expect(parseMfaHeader('arn:aws:iam::123456789012:mfa/root-account-mfa-device 123456')).toEqual({
      serialNumber: 'arn:aws:iam::123456789012:mfa/root-account-mfa-device',
      code: '123456',
    });
    expect(() => parseMfaHeader('123456')).toThrow('Mfa header is invalid');
  });
});

describe('lifecycle rules', () => {
  it('rounds due times up to the next midnight UTC', () => {
    expect(new Date(dueAfter(now, 3)).toISOString()).toBe('2026-03-14T00:00:00.000Z');
  });

  it('refuses invalid rules with S3 errors', () => {
    const check = (rules: Record<string, unknown>[]) => () => checkLifecycleConfiguration({ Rules: rules }, undefined);
    expect(check([{ Status: 'Enabled', Filter: {} }])).toThrow('At least one action needs to be specified in a rule');
    expect(check([{ Status: 'Enabled', Filter: {}, Transitions: [{ Days: 10, StorageClass: 'ONEZONE_IA' }] }])).toThrow("storageClass 'ONEZONE_IA'");
    expect(check([{ ID: 'a', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }, { ID: 'a', Status: 'Enabled', Filter: {}, Expiration: { Days: 2 } }])).toThrow('unique');
    expect(check([{ Status: 'Enabled', Filter: {}, Expiration: { Days: 0 } }])).toThrow('positive integer');
    expect(check([{ Status: 'Enabled', Filter: {}, Expiration: { Date: new Date(now) } }])).toThrow('midnight');
    expect(check([{ Status: 'Enabled', Filter: { Tag: { Key: 'a', Value: 'b' } }, Expiration: { ExpiredObjectDeleteMarker: true } }])).toThrow('Tags');
    expect(check([{ Status: 'Enabled', Filter: { ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 50 }, Expiration: { Days: 1 } }])).toThrow('XML');
    expect(check([{ Status: 'Enabled', Filter: { And: { ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 5 } }, Expiration: { Days: 1 } }])).toThrow('greater than');
    expect(check([{ Status: 'Enabled', Prefix: 'a', Expiration: { Days: 1 } }, { Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }])).toThrow('Lifecycle V2');
    expect(check([{ Status: 'Enabled', Filter: {}, Expiration: { Days: 10 }, Transitions: [{ Days: 10, StorageClass: 'GLACIER' }] }])).toThrow("'Days' in the Expiration action");
    expect(() => checkLifecycleConfiguration({ Rules: [{ Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }] }, 'tiny')).toThrow('TransitionDefaultMinimumObjectSize');
  });

  it('names rules without an ID and keeps the minimum-size setting', () => {
    const stored = checkLifecycleConfiguration({ Rules: [{ Status: 'Enabled', Filter: { Prefix: 'x/' }, Expiration: { Days: 1 } }] }, undefined);
    expect(stored.TransitionDefaultMinimumObjectSize).toBe('all_storage_classes_128K');
    expect(readRules(stored.Rules)[0]).toMatchObject({ id: 'rule-1', enabled: true, filter: { prefix: 'x/' }, expiration: { days: 1 } });
  });
});

describe('archive restores', () => {
  it('go from ongoing to restored to expired by the clock', () => {
    const archived = version({}, { storageClass: 'GLACIER' });
    expect(readable(archived, now)).toBe(false);
    const { attributes } = restoreAttributes(archived, now, 1, 'Standard', undefined);
    const restoring = version(attributes, { storageClass: 'GLACIER' });
    expect(restoreHeader(restoreState(restoring, now))).toBe('ongoing-request="true"');
    expect(() => restoreAttributes(restoring, now, 1, 'Standard', undefined)).toThrow('already in progress');
    const later = now + 5 * 3_600_000;
    expect(readable(restoring, later)).toBe(true);
    expect(restoreHeader(restoreState(restoring, later))).toBe('ongoing-request="false", expiry-date="Thu, 12 Mar 2026 00:00:00 GMT"');
    expect(readable(restoring, later + 2 * DAY)).toBe(false);
  });
});
