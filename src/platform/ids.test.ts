import { describe, expect, it } from 'vitest';
import { cryptoRandom } from './ids.js';

describe('cryptoRandom', () => {
  it('hands out fresh bytes of the sizes asked, small draws and large alike', () => {
    const seen = new Set<string>();
    // Enough small draws to refill the pool several times.
    for (let i = 0; i < 2000; i++) {
      const b = cryptoRandom.bytes(12 + (i % 21));
      expect(b.length).toBe(12 + (i % 21));
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(2000);
    const big = cryptoRandom.bytes(1000);
    expect(big.length).toBe(1000);
    expect(big.equals(Buffer.alloc(1000))).toBe(false);
    // Roughly uniform: over 64 KiB every byte value turns up.
    const counts = new Set(Array.from({ length: 2048 }, () => [...cryptoRandom.bytes(32)]).flat());
    expect(counts.size).toBe(256);
  });
});
