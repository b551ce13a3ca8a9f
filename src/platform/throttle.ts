/**
 * Wake-ups that fold together under load. A consumer woken on every append of the event
 * log would otherwise make one pass (reads, a cursor write) per commit; throttled, the
 * first wake-up after a quiet spell still runs on the next turn, and those that follow
 * within the interval are folded into one run at its end, which reads them all at once.
 * The interval is real (monotonic) time: it paces CPU work, not anything a record says.
 */

/** A throttled wake-up: {@link kick} asks for a run; {@link cancel} drops a pending one. */
export interface Throttled {
  kick(): void;
  cancel(): void;
}

/**
 * Runs `fn` after `kick()`, at most once per `intervalMs`.
 *
 * @example
 * const wake = throttled(() => consumer.pass(), 10);
 * log.onAppend(() => wake.kick());
 */
export function throttled(fn: () => void, intervalMs: number): Throttled {
  let lastRun = -Infinity;
  let pending: { cancel(): void } | undefined;
  const run = (): void => {
    pending = undefined;
    lastRun = performance.now();
    fn();
  };
  return {
    kick() {
      if (pending) return;
      const wait = lastRun + intervalMs - performance.now();
      if (wait <= 0) {
        const immediate = setImmediate(run);
        pending = { cancel: () => clearImmediate(immediate) };
      } else {
        const timer = setTimeout(run, wait);
        pending = { cancel: () => clearTimeout(timer) };
      }
    },
    cancel() {
      pending?.cancel();
      pending = undefined;
    },
  };
}
