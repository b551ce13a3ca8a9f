/**
 * One-time passwords for virtual MFA devices: HOTP (RFC 4226) and TOTP (RFC 6238) with
 * HMAC-SHA-1, 6 digits and 30-second steps, as authenticator apps and AWS use them, and
 * the Base32 (RFC 4648) text the seed is exchanged in. Time is always passed in, so the
 * injected clock decides which codes are current.
 */
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The TOTP time step, in milliseconds. */
export const TOTP_STEP_MS = 30_000;

/** Base32 text of `bytes`, without padding (as AWS hands out seeds). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** The bytes of Base32 text; case, spaces and `=` padding are ignored. Throws on other characters. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`not a Base32 character: ${ch}`);
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * The HOTP value of `secret` at `counter` (RFC 4226 §5.3): dynamic truncation of
 * HMAC-SHA-1, reduced to `digits` decimal digits.
 */
export function hotp(secret: Uint8Array, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP step a time (ms since epoch) falls in. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / TOTP_STEP_MS);
}

/**
 * The TOTP code of `secret` at `nowMs`.
 *
 * @example
 * totp(base32Decode(seed), clock.now()); // '287082'
 */
export function totp(secret: Uint8Array, nowMs: number, digits = 6): string {
  return hotp(secret, totpStep(nowMs), digits);
}

/**
 * The step at which `code` is valid for `secret`, looking `window` steps either side of
 * now (clock drift between the device and the server), or undefined.
 */
export function matchTotp(secret: Uint8Array, code: string, nowMs: number, window = 1): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const current = totpStep(nowMs);
  for (let step = current - window; step <= current + window; step++) {
    if (step >= 0 && hotp(secret, step) === code) return step;
  }
  return undefined;
}
