/**
 * Periodic background jobs (key deletion, history retention, lifecycle, delivery...):
 * one place that starts them, logs their failures instead of crashing the server, never
 * runs one job twice at once, and stops them all on shutdown. Jobs read time from the
 * injected clock; only the wake-up interval is wall time.
 */
import type { Logger } from './logger.js';

export interface Jobs {
  /**
   * Runs `job` now and then every `intervalMs`; a run still in progress makes the next
   * wake-up skip.
   */
  every(name: string, intervalMs: number, job: () => unknown): void;
  /** Stops every job and waits for runs in progress to finish. */
  stop(): Promise<void>;
}

export function createJobs(logger: Logger): Jobs {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  return {
    every(name, intervalMs, job) {
      let busy = false;
      const run = (): void => {
        if (busy || stopped) return;
        busy = true;
        const done = (async () => {
          try {
            await job();
          } catch (e) {
            logger.error({ err: e, job: name }, 'background job failed');
          } finally {
            busy = false;
          }
        })();
        running.add(done);
        void done.then(() => running.delete(done));
      };
      run();
      const timer = setInterval(run, intervalMs);
      timer.unref();
      timers.push(timer);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(running);
    },
  };
}
