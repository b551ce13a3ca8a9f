/**
 * LookupEvents' NextToken: an opaque, tamper-proof page position. It carries the
 * (event_time, seq) of the last event returned and an HMAC binding it to the query that
 * produced it, so a forged token, an altered one, or one reused with other parameters is
 * refused instead of silently returning another query's page. The key is per data
 * directory (`history.key`) unless the composition root supplies one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RandomSource } from '../platform/ids.js';

/** A position in the history's order (event_time DESC, seq DESC): the last event of a page. */
export interface PagePosition {
  eventTime: number;
  seq: number;
}

/** The key file's name inside the data directory. */
export const HISTORY_KEY_FILE = 'history.key';

const KEY_BYTES = 32;
const MAC_BYTES = 16;
const TOKEN_BYTES = 8 + 8 + MAC_BYTES;

/**
 * Reads the token key of a data directory, creating it (owner-only) on first use. Two
 * processes racing to create it agree: the loser of the exclusive create reads the winner's.
 */
export function loadOrCreateTokenKey(dataDir: string, random: RandomSource): Buffer {
  const path = join(dataDir, HISTORY_KEY_FILE);
  try {
    writeFileSync(path, random.bytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if (!(typeof e === 'object' && e !== null && 'code' in e && e.code === 'EEXIST')) throw e;
  }
  const key = readFileSync(path);
  if (key.length < KEY_BYTES) throw new Error(`${path} is not a valid history key (expected ${KEY_BYTES} bytes)`);
  return key;
}

/**
 * Signs and checks page tokens for one key.
 *
 * @example
 * const tokens = new PageTokens(key);
 * const token = tokens.sign(binding, { eventTime, seq });
 * tokens.verify(binding, token); // the position, or undefined if forged or for another query
 */
export class PageTokens {
  constructor(private readonly key: Buffer) {}

  /** A token for `position` under the query described by `binding`. */
  sign(binding: string, position: PagePosition): string {
    const body = Buffer.alloc(16);
    body.writeBigInt64BE(BigInt(position.eventTime), 0);
    body.writeBigInt64BE(BigInt(position.seq), 8);
    return Buffer.concat([body, this.mac(binding, body)]).toString('base64');
  }

  /** The position in `token`, or undefined unless it was signed with this key for this very `binding`. */
  verify(binding: string, token: string): PagePosition | undefined {
    const bytes = Buffer.from(token, 'base64');
    if (bytes.length !== TOKEN_BYTES || bytes.toString('base64') !== token) return undefined;
    const body = bytes.subarray(0, 16);
    if (!timingSafeEqual(bytes.subarray(16), this.mac(binding, body))) return undefined;
    const eventTime = Number(body.readBigInt64BE(0));
    const seq = Number(body.readBigInt64BE(8));
    if (!Number.isSafeInteger(eventTime) || !Number.isSafeInteger(seq)) return undefined;
    return { eventTime, seq };
  }

  private mac(binding: string, body: Buffer): Buffer {
    return createHmac('sha256', this.key)
      .update('cairn/lookup-events/v1\n')
      .update(binding)
      .update('\n')
      .update(body)
      .digest()
      .subarray(0, MAC_BYTES);
  }
}
