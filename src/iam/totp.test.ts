import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, totp } from './totp.js';

// RFC 6238 appendix B uses the ASCII secret "12345678901234567890" for SHA-1 and 8 digits.
const secret = Buffer.from('12345678901234567890', 'ascii');

describe('TOTP', () => {
  it('matches the RFC 6238 SHA-1 test vectors', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) expect(totp(secret, seconds * 1000, 8)).toBe(code);
  });

  it('matches the RFC 4226 HOTP test vectors', () => {
    const codes = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    codes.forEach((code, counter) => expect(hotp(secret, counter)).toBe(code));
  });

  it('accepts a code one step either side of now, and nothing further', () => {
    const now = 1_700_000_000_000;
    expect(matchTotp(secret, totp(secret, now), now)).toBeDefined();
    expect(matchTotp(secret, totp(secret, now - 30_000), now)).toBeDefined();
    expect(matchTotp(secret, totp(secret, now + 30_000), now)).toBeDefined();
    expect(matchTotp(secret, totp(secret, now - 90_000), now)).toBeUndefined();
    expect(matchTotp(secret, 'abcdef', now)).toBeUndefined();
  });

  it('round-trips Base32 (RFC 4648 vectors)', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Encode(Buffer.from('fo'))).toBe('MZXQ');
    expect(base32Decode('MZXW6YTBOI======').toString()).toBe('foobar');
    expect(base32Decode('mzxq').toString()).toBe('fo');
    expect(() => base32Decode('MZ1')).toThrow();
  });
});
