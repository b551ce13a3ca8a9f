import { describe, expect, it } from 'vitest';
import { openStateDatabase } from '../storage/sqlite.js';
import { SqliteTrailStore } from './sqlite-store.js';
import type { TrailRecord } from './store.js';

function trail(name: string, region = 'us-east-1', account = '111122223333'): TrailRecord {
  return {
    accountId: account,
    homeRegion: region,
    name,
    trailArn: `arn:aws:cloudtrail:${region}:${account}:trail/${name}`,
    createdAt: 1,
    config: {
      s3BucketName: 'logs',
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: false,
      isOrganizationTrail: false,
      logFileValidationEnabled: false,
      eventSelectors: null,
      advancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }],
      hasCustomEventSelectors: true,
      insightSelectors: [],
      tags: [{ Key: 'k' }],
    },
    status: { isLogging: false },
  };
}

describe('SqliteTrailStore', () => {
  it('keeps trails, config and status apart, and lists logging trails', () => {
    const db = openStateDatabase(':memory:');
    const store = new SqliteTrailStore(db);
    // Migrations run once; a second store on the same database finds the table ready.
    const again = new SqliteTrailStore(db);
    const a = trail('a');
    store.insert(a);
    store.insert(trail('b', 'us-west-2'));
    store.insert(trail('a', 'us-east-1', '999999999999'));
    expect(() => store.insert(a)).toThrow();
    expect(again.find(a)).toEqual(a);
    expect(store.listForAccount('111122223333').map((t) => `${t.homeRegion}/${t.name}`)).toEqual(['us-east-1/a', 'us-west-2/b']);

    store.putStatus(a, { isLogging: true, startLoggingTime: 5 });
    store.putConfig(a, { ...a.config, s3BucketName: 'other' });
    expect(store.find(a)).toEqual({ ...a, config: { ...a.config, s3BucketName: 'other' }, status: { isLogging: true, startLoggingTime: 5 } });
    expect(store.listLogging().map((t) => t.trailArn)).toEqual([a.trailArn]);

    expect(store.atomically(() => 42)).toBe(42);
    expect(() =>
      store.atomically(() => {
        store.remove(a);
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(store.find(a)).toBeDefined();
    store.remove(a);
    expect(store.find(a)).toBeUndefined();
    expect(store.listLogging()).toEqual([]);
  });
});
