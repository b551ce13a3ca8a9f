import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { AwsError } from '../platform/errors.js';
import { cryptoRandom } from '../platform/ids.js';
import { loadOrCreateStoreKey, sseTransform } from './access/encryption.js';
import { objectStoreConformance } from './conformance.js';
import { EmbeddedObjectStore } from './embedded.js';
import type { ObjectEvent } from './store.js';

objectStoreConformance('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-os-'));
  const store = await EmbeddedObjectStore.open({ dir, clock: new ManualClock(Date.parse('2026-01-01T00:00:00Z')), random: cryptoRandom });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const dirs: string[] = [];
const stores: EmbeddedObjectStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fresh(dir?: string): Promise<{ store: EmbeddedObjectStore; dir: string; clock: ManualClock }> {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'cairn-os-'));
  if (!dir) dirs.push(root);
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = await EmbeddedObjectStore.open({ dir: root, clock, random: cryptoRandom, defaultOwner: '111111111111' });
  stores.push(store);
  return { store, dir: root, clock };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof AwsError ? e.code : String(e);
  }
  throw new Error('expected a failure');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Every stored segment's bytes as kept on disk: blob files, and small segments kept in objects.db. */
function storedSegments(dir: string): Buffer[] {
  const files = filesUnder(join(dir, 'blobs')).map((f) => readFileSync(f));
  const db = new Database(join(dir, 'objects.db'), { readonly: true });
  try {
    return [...files, ...db.prepare<[], Buffer>('SELECT bytes FROM inline_segments').pluck().all()];
  } finally {
    db.close();
  }
}

describe('versioning', () => {
  it('keeps every version when enabled, with delete markers and promotion', async () => {
    const { store, clock } = await fresh();
    await store.createBucket('vb-bucket');
    await store.putBucketVersioning('vb-bucket', 'Enabled');
    const v1 = await store.putObject('vb-bucket', 'k', Buffer.from('one'));
    clock.advance(1000);
    const v2 = await store.putObject('vb-bucket', 'k', Buffer.from('two'));
    expect(v1.versionId).toBeDefined();
    expect(v1.versionId).not.toBe(v2.versionId);
    expect((await store.getObject('vb-bucket', 'k')).body.toString()).toBe('two');
    expect((await store.getObject('vb-bucket', 'k', { versionId: v1.versionId ?? '' })).body.toString()).toBe('one');

    const marker = await store.deleteObject('vb-bucket', 'k');
    expect(marker.deleteMarker).toBe(true);
    expect(await codeOf(store.getObject('vb-bucket', 'k'))).toBe('NoSuchKey');
    expect(await codeOf(store.getObject('vb-bucket', 'k', { versionId: marker.versionId ?? '' }))).toBe('MethodNotAllowed');
    expect((await store.listObjectsV2('vb-bucket')).objects).toEqual([]);

    const versions = await store.listObjectVersions('vb-bucket');
    expect(versions.versions.map((v) => [v.versionId, v.isLatest, v.deleteMarker])).toEqual([
      [marker.versionId, true, true],
      [v2.versionId, false, false],
      [v1.versionId, false, false],
    ]);

    // Removing the marker brings the newest version back.
    await store.deleteObject('vb-bucket', 'k', { versionId: marker.versionId ?? '' });
    expect((await store.getObject('vb-bucket', 'k')).body.toString()).toBe('two');
    await store.deleteObject('vb-bucket', 'k', { versionId: v2.versionId ?? '' });
    expect((await store.getObject('vb-bucket', 'k')).body.toString()).toBe('one');
    expect(await codeOf(store.getObject('vb-bucket', 'k', { versionId: v2.versionId ?? '' }))).toBe('NoSuchVersion');
    expect(await codeOf(store.deleteBucket('vb-bucket'))).toBe('BucketNotEmpty');
  });

  it('replaces the null version when suspended and keeps older versions', async () => {
    const { store, dir } = await fresh();
    await store.createBucket('sb-bucket');
    const unversioned = await store.putObject('sb-bucket', 'k', Buffer.from('null-1'));
    expect(unversioned.versionId).toBeUndefined();
    await store.putBucketVersioning('sb-bucket', 'Enabled');
    const kept = await store.putObject('sb-bucket', 'k', Buffer.from('kept'));
    await store.putBucketVersioning('sb-bucket', 'Suspended');
    const n2 = await store.putObject('sb-bucket', 'k', Buffer.from('null-2'));
    expect(n2.versionId).toBe('null');
    const n3 = await store.putObject('sb-bucket', 'k', Buffer.from('null-3'));
    expect(n3.versionId).toBe('null');
    const ids = (await store.listObjectVersions('sb-bucket')).versions.map((v) => v.versionId);
    expect(ids).toEqual(['null', kept.versionId]);
    expect((await store.getObject('sb-bucket', 'k', { versionId: 'null' })).body.toString()).toBe('null-3');
    // Replaced null versions leave no bytes behind.
    expect(storedSegments(dir)).toHaveLength(2);
    const marker = await store.deleteObject('sb-bucket', 'k');
    expect(marker).toEqual({ versionId: 'null', deleteMarker: true });
    expect(storedSegments(dir)).toHaveLength(1);
    // A write over the null delete marker makes the key readable again.
    await store.putObject('sb-bucket', 'k', Buffer.from('null-4'));
    expect((await store.getObject('sb-bucket', 'k')).body.toString()).toBe('null-4');
    const afterMarker = (await store.listObjectVersions('sb-bucket')).versions.map((v) => [v.versionId, v.deleteMarker, v.isLatest]);
    expect(afterMarker).toEqual([
      ['null', false, true],
      [kept.versionId, false, false],
    ]);
    // Small and large bodies take each other's place.
    await store.putObject('sb-bucket', 'k', Buffer.alloc(100 * 1024, 'L'));
    expect((await store.getObject('sb-bucket', 'k')).body.equals(Buffer.alloc(100 * 1024, 'L'))).toBe(true);
    await store.putObject('sb-bucket', 'k', Buffer.from('null-5'));
    expect((await store.getObject('sb-bucket', 'k')).body.toString()).toBe('null-5');
    expect(storedSegments(dir)).toHaveLength(2);
    expect(filesUnder(join(dir, 'blobs'))).toHaveLength(0);
    await store.deleteObject('sb-bucket', 'k');
    expect(storedSegments(dir)).toHaveLength(1);
    // Nor do replaced or deleted objects too big to be kept inline.
    const big = Buffer.alloc(200 * 1024, 7);
    await store.putBucketVersioning('sb-bucket', 'Suspended');
    await store.putObject('sb-bucket', 'big', big);
    await store.putObject('sb-bucket', 'big', big);
    expect(filesUnder(join(dir, 'blobs'))).toHaveLength(1);
    await store.deleteObject('sb-bucket', 'big');
    expect(filesUnder(join(dir, 'blobs'))).toHaveLength(0);
  });

  it('pages through versions with key and version-id markers', async () => {
    const { store } = await fresh();
    await store.createBucket('pv-bucket');
    await store.putBucketVersioning('pv-bucket', 'Enabled');
    for (const key of ['a', 'b']) for (let i = 0; i < 3; i++) await store.putObject('pv-bucket', key, Buffer.from(`${key}${i}`));
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await store.listObjectVersions('pv-bucket', { maxKeys: 2, ...(keyMarker ? { keyMarker } : {}), ...(versionIdMarker ? { versionIdMarker } : {}) });
      seen.push(...page.versions.map((v) => `${v.key}:${v.size}:${v.isLatest}`));
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
    expect(seen).toEqual(['a:2:true', 'a:2:false', 'a:2:false', 'b:2:true', 'b:2:false', 'b:2:false']);
  });
});

describe('hooks', () => {
  it('a guard can refuse deleting a version, atomically', async () => {
    const { store } = await fresh();
    await store.createBucket('locked');
    await store.putBucketVersioning('locked', 'Enabled');
    const v = await store.putObject('locked', 'k', Buffer.from('x'), { attributes: { retainUntil: '2099-01-01' } });
    store.use({
      beforeDeleteVersion: ({ version }) => {
        if (version.attributes.retainUntil) throw new AwsError({ code: 'AccessDenied', message: 'Access Denied', status: 403 });
      },
    });
    expect(await codeOf(store.deleteObject('locked', 'k', { versionId: v.versionId ?? '' }))).toBe('AccessDenied');
    expect((await store.getObject('locked', 'k')).body.toString()).toBe('x');
    // A delete marker is not a version deletion.
    expect((await store.deleteObject('locked', 'k')).deleteMarker).toBe(true);
  });

  it('an at-rest transform seals every segment and reads open them, ranges included', async () => {
    const { store, dir } = await fresh();
    const xor = (b: Buffer): Buffer => Buffer.from(b.map((c) => c ^ 0x5a));
    store.use({
      atRest: {
        seal: async ({ plaintext }) => ({ bytes: xor(plaintext), attributes: { alg: 'xor' } }),
        open: async ({ sealed, attributes }) => {
          expect(attributes.alg).toBe('xor');
          return xor(sealed);
        },
      },
    });
    await store.createBucket('enc-bucket');
    const plain = Buffer.from('plain text here');
    // Big enough for a blob file of its own, where the small one is kept in objects.db.
    const big = Buffer.alloc(100 * 1024, 'big plain text ');
    await store.putObject('enc-bucket', 'secret', plain);
    await store.putObject('enc-bucket', 'big', big);
    const stored = storedSegments(dir);
    expect(stored).toHaveLength(2);
    expect(stored).toContainEqual(xor(plain));
    expect(stored).toContainEqual(xor(big));
    expect(filesUnder(join(dir, 'blobs')).map((f) => readFileSync(f))).toEqual([xor(big)]);
    expect((await store.getObject('enc-bucket', 'secret')).body.toString()).toBe('plain text here');
    expect((await store.getObject('enc-bucket', 'secret', { range: { start: 6, end: 9 } })).body.toString()).toBe('text');
    expect((await store.getObject('enc-bucket', 'big')).body.equals(big)).toBe(true);
    expect((await store.getObject('enc-bucket', 'big', { range: { start: 1, end: 3 } })).body.toString()).toBe('ig ');
  });

  it('reports committed changes with S3 event names and increasing sequencers', async () => {
    const { store, dir } = await fresh();
    const events: ObjectEvent[] = [];
    store.use({ afterCommit: (e) => events.push(e) });
    await store.createBucket('ev-bucket');
    await store.putObject('ev-bucket', 'k', Buffer.from('x'));
    await store.putObject('ev-bucket', 'k', Buffer.from('y'), { origin: 'Copy' });
    await store.deleteObject('ev-bucket', 'k');
    expect(events.map((e) => e.eventName)).toEqual(['ObjectCreated:Put', 'ObjectCreated:Copy', 'ObjectRemoved:Delete']);
    const seqs = events.map((e) => e.sequencer);
    expect([...seqs].sort()).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    // They keep increasing after the store is reopened.
    await store.close();
    const { store: reopened } = await fresh(dir);
    reopened.use({ afterCommit: (e) => events.push(e) });
    await reopened.putObject('ev-bucket', 'k', Buffer.from('z'));
    const last = events.at(-1)?.sequencer ?? '';
    expect(last > (seqs.at(-1) ?? '')).toBe(true);
  });
});

describe('files on disk', () => {
  it('names files by id only: hostile keys write nothing outside the store', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'cairn-os-parent-'));
    dirs.push(parent);
    const { store, dir } = await fresh(join(parent, 'objects'));
    await store.createBucket('hostile');
    for (const key of ['../../escape', '/abs/path', '..', 'a/../../b', '\\..\\win']) await store.putObject('hostile', key, Buffer.from(key));
    expect(readdirSync(parent)).toEqual(['objects']);
    for (const f of filesUnder(dir)) {
      const rel = f.slice(dir.length + 1);
      expect(rel).toMatch(/^(objects\.db(-wal|-shm)?|blobs\/[0-9a-f]{2}\/[0-9a-f]{32})$/);
    }
    expect(await codeOf(store.putObject('hostile', 'nul\u0000key', Buffer.from('x')))).toBe('InvalidArgument');
    expect(await codeOf(store.putObject('hostile', 'lone\ud800', Buffer.from('x')))).toBe('InvalidArgument');
  });

  it('sweeps orphaned blobs and interrupted writes when it opens', async () => {
    const { store, dir } = await fresh();
    await store.createBucket('sweep');
    await store.putObject('sweep', 'kept', Buffer.from('kept'));
    await store.close();
    // A write interrupted before its metadata commit leaves a file nothing names.
    const orphan = 'ab'.repeat(16);
    mkdirSync(join(dir, 'blobs', 'ab'), { recursive: true });
    writeFileSync(join(dir, 'blobs', orphan.slice(0, 2), orphan), 'orphan', { flag: 'w' });
    // Earlier versions staged writes in tmp/.
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp', 'half-written'), 'x');
    const reopened = await fresh(dir);
    expect(existsSync(join(dir, 'blobs', orphan.slice(0, 2), orphan))).toBe(false);
    expect(storedSegments(dir)).toHaveLength(1);
    expect(existsSync(join(dir, 'tmp'))).toBe(false);
    expect((await reopened.store.getObject('sweep', 'kept')).body.toString()).toBe('kept');
  });
});

describe('bucket ownership', () => {
  it('a name another account holds is BucketAlreadyExists', async () => {
    const { store } = await fresh();
    await store.createBucket('shared-name', { owner: '111111111111' });
    expect(await codeOf(store.createBucket('shared-name', { owner: '222222222222' }))).toBe('BucketAlreadyExists');
    expect(await codeOf(store.createBucket('shared-name', { owner: '111111111111' }))).toBe('BucketAlreadyOwnedByYou');
    expect((await store.listBuckets('222222222222')).map((b) => b.name)).toEqual([]);
  });
});

describe('multipart listing and checksums', () => {
  it('lists uploads and parts, and builds a composite checksum', async () => {
    const { store } = await fresh();
    await store.createBucket('mp-bucket');
    const a = await store.createMultipartUpload('mp-bucket', 'dir/a', { checksumAlgorithm: 'CRC32' });
    const b = await store.createMultipartUpload('mp-bucket', 'dir/b');
    await store.createMultipartUpload('mp-bucket', 'top');
    const uploads = await store.listMultipartUploads('mp-bucket', { prefix: 'dir/' });
    expect(uploads.uploads.map((u) => u.key)).toEqual(['dir/a', 'dir/b']);
    const rolled = await store.listMultipartUploads('mp-bucket', { delimiter: '/' });
    expect(rolled.commonPrefixes).toEqual(['dir/']);
    expect(rolled.uploads.map((u) => u.key)).toEqual(['top']);

    const p1 = await store.uploadPart('mp-bucket', 'dir/a', a.uploadId, 1, Buffer.from('part one'));
    expect(p1.checksum?.algorithm).toBe('CRC32');
    const parts = await store.listParts('mp-bucket', 'dir/a', a.uploadId);
    expect(parts.parts.map((p) => [p.partNumber, p.size])).toEqual([[1, 8]]);
    const done = await store.completeMultipartUpload('mp-bucket', 'dir/a', a.uploadId, [{ partNumber: 1, etag: p1.etag }]);
    expect(done.checksum).toMatchObject({ algorithm: 'CRC32', type: 'COMPOSITE' });
    expect(done.checksum?.value).toMatch(/-1$/);
    await store.abortMultipartUpload('mp-bucket', 'dir/b', b.uploadId);
    expect((await store.listMultipartUploads('mp-bucket')).uploads.map((u) => u.key)).toEqual(['top']);
  });
});

describe('read path caches', () => {
  it('answers bucket reads from memory, yet sees every change this store makes', async () => {
    const { store } = await fresh();
    await store.createBucket('cached-bucket');
    const first = store.bucketInfo('cached-bucket');
    expect(first?.versioning).toBe('Unversioned');
    // A caller changing what it was given must not change what the next caller reads.
    if (first) first.versioning = 'Enabled';
    expect(store.bucketInfo('cached-bucket')?.versioning).toBe('Unversioned');
    await store.putBucketVersioning('cached-bucket', 'Enabled');
    expect(store.bucketInfo('cached-bucket')?.versioning).toBe('Enabled');
    await store.putBucketVersioning('cached-bucket', 'Suspended', 'Disabled');
    expect(store.bucketInfo('cached-bucket')).toMatchObject({ versioning: 'Suspended', mfaDelete: 'Disabled' });
    await store.deleteBucket('cached-bucket');
    expect(store.bucketInfo('cached-bucket')).toBeUndefined();
    await store.createBucket('cached-bucket', { objectLockEnabled: true });
    expect(store.bucketInfo('cached-bucket')).toMatchObject({ versioning: 'Enabled', objectLockEnabled: true });
  });

  it.each([
    ['plain', false],
    ['sealed', true],
  ])('reads small and large objects whole and by range (%s)', async (_, sealed) => {
    const { store, dir } = await fresh();
    if (sealed) store.use({ atRest: sseTransform({ masterKey: loadOrCreateStoreKey(dir, cryptoRandom), random: cryptoRandom }) });
    await store.createBucket('sizes');
    const small = Buffer.from('a small object');
    const large = Buffer.alloc(300 * 1024, 7);
    large.write('tail', large.length - 4);
    await store.putObject('sizes', 'small', small);
    // Large bodies are hashed (and sealed) on the store's worker thread: same ETag, same checks.
    const sha256 = createHash('sha256').update(large).digest('base64');
    const put = await store.putObject('sizes', 'large', large, { checksum: { algorithm: 'SHA256', value: sha256 } });
    expect(put.etag).toBe(`"${createHash('md5').update(large).digest('hex')}"`);
    expect(put.checksum?.value).toBe(sha256);
    const wrongSum = store.putObject('sizes', 'other', large, { checksum: { algorithm: 'SHA256', value: createHash('sha256').update('x').digest('base64') } });
    expect(await codeOf(wrongSum)).toBe('BadDigest');
    expect(await codeOf(store.putObject('sizes', 'other', large, { contentMd5: createHash('md5').update('x').digest('base64') }))).toBe('BadDigest');
    expect((await store.getObject('sizes', 'small')).body).toEqual(small);
    expect((await store.getObject('sizes', 'large')).body).toEqual(large);
    expect((await store.getObject('sizes', 'large', { range: { suffix: 4 } })).body.toString()).toBe('tail');
    expect((await store.getObject('sizes', 'large', { range: { start: 0, end: 1 } })).body).toEqual(Buffer.from([7, 7]));
    expect((await store.getObject('sizes', 'small', { range: { start: 2, end: 6 } })).body.toString()).toBe('small');
  });
});

describe('writes made together', () => {
  it('commit in one group where a failing write undoes only itself', async () => {
    const { store, dir } = await fresh();
    await store.createBucket('group-bucket');
    await store.putObject('group-bucket', 'taken', Buffer.from('first'));
    // Started in one turn: they share one transaction, each in its own savepoint.
    const results = await Promise.allSettled([
      store.putObject('group-bucket', 'one', Buffer.from('1')),
      store.putObject('group-bucket', 'taken', Buffer.from('second'), { ifNoneMatch: '*' }),
      store.putObject('group-bucket', 'new', Buffer.from('a'), { ifNoneMatch: '*' }),
      store.putObject('group-bucket', 'new', Buffer.from('b'), { ifNoneMatch: '*' }),
      store.putObject('group-bucket', 'two', Buffer.from('2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const body = async (key: string): Promise<string> => (await store.getObject('group-bucket', key)).body.toString();
    expect(await body('taken')).toBe('first');
    expect(await body('new')).toBe('a');
    expect([await body('one'), await body('two')]).toEqual(['1', '2']);
    // And all of it is on disk after a reopen.
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const again = await fresh(dir);
    expect((await again.store.getObject('group-bucket', 'two')).body.toString()).toBe('2');
    expect((await again.store.getObject('group-bucket', 'new')).body.toString()).toBe('a');
  });
});

describe('reads after writes', () => {
  it('see every committed change, and nothing of a write that failed', async () => {
    const { store } = await fresh();
    await store.createBucket('read-after-write');
    const read = async (key: string): Promise<string> => (await store.getObject('read-after-write', key)).body.toString();
    await store.putObject('read-after-write', 'k', Buffer.from('one'));
    expect(await read('k')).toBe('one');
    expect(await read('k')).toBe('one');
    await store.putObject('read-after-write', 'k', Buffer.from('two'));
    expect(await read('k')).toBe('two');
    expect(await codeOf(store.putObject('read-after-write', 'k', Buffer.from('three'), { ifNoneMatch: '*' }))).toBe('PreconditionFailed');
    expect(await read('k')).toBe('two');
    expect((await store.headObject('read-after-write', 'k')).size).toBe(3);
    await store.deleteObject('read-after-write', 'k');
    expect(await codeOf(store.getObject('read-after-write', 'k'))).toBe('NoSuchKey');
    await store.putObject('read-after-write', 'k', Buffer.from('four'));
    expect(await read('k')).toBe('four');
    // Small bodies live in objects.db, and an overwrite of the same size rewrites their row
    // in place: the bytes read before must not come back.
    await store.putObject('read-after-write', 'j', Buffer.from('jjjj'));
    expect([await read('j'), await read('k')]).toEqual(['jjjj', 'four']);
    await store.putObject('read-after-write', 'k', Buffer.from('five'));
    await store.putObject('read-after-write', 'j', Buffer.from('JJJJ'));
    expect([await read('j'), await read('k')]).toEqual(['JJJJ', 'five']);
  });
});
