import { describe, expect, it } from 'vitest';
import { checksumOf, compositeChecksum, isWellFormedChecksum, multipartEtag, newChecksummer } from './checksums.js';

const CHECK = Buffer.from('123456789');

describe('checksums', () => {
  it('match the standard check values', () => {
    expect(Buffer.from(checksumOf('CRC32', CHECK), 'base64').toString('hex')).toBe('cbf43926');
    expect(Buffer.from(checksumOf('CRC32C', CHECK), 'base64').toString('hex')).toBe('e3069283');
    expect(Buffer.from(checksumOf('CRC64NVME', CHECK), 'base64').toString('hex')).toBe('ae8b14860a799888');
    expect(checksumOf('SHA256', Buffer.alloc(0))).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('are the same fed in pieces', () => {
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
      const c = newChecksummer(algorithm);
      c.update(CHECK.subarray(0, 4));
      c.update(CHECK.subarray(4));
      expect(c.digest().toString('base64')).toBe(checksumOf(algorithm, CHECK));
    }
  });

  it('check the shape of client values', () => {
    expect(isWellFormedChecksum('CRC32', checksumOf('CRC32', CHECK))).toBe(true);
    expect(isWellFormedChecksum('CRC32', checksumOf('SHA1', CHECK))).toBe(false);
    expect(isWellFormedChecksum('CRC32', 'not base64!')).toBe(false);
  });

  it('compose multipart ETags and checksums with the part count', () => {
    expect(multipartEtag(['"5d41402abc4b2a76b9719d911017c592"'])).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect(compositeChecksum('CRC32', [checksumOf('CRC32', CHECK), checksumOf('CRC32', CHECK)])).toMatch(/-2$/);
  });
});
