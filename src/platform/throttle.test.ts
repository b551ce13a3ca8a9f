import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { throttled } from './throttle.js';

describe('throttled', () => {
  it('runs the first kick on the next turn and folds the kicks of one interval into one run', async () => {
    let runs = 0;
    const wake = throttled(() => runs++, 30);
    wake.kick();
    expect(runs).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(1);
    for (let i = 0; i < 10; i++) wake.kick();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(1);
    await sleep(60);
    expect(runs).toBe(2);
    // Quiet since: the next kick runs at once again.
    await sleep(40);
    wake.kick();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(3);
  });

  it('drops a pending run on cancel', async () => {
    let runs = 0;
    const wake = throttled(() => runs++, 10);
    wake.kick();
    wake.cancel();
    await sleep(30);
    expect(runs).toBe(0);
  });
});
