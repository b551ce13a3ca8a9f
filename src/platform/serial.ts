/**
 * Runs async work one piece at a time, in order: engines whose passes must never overlap
 * (trail delivery, digests) queue them here, and stop by letting the queue drain.
 */
export class SerialRunner {
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  /** True once {@link stop} was called: nothing new runs. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Runs `fn` after everything queued before it; once stopped, resolves with `whenStopped`
   * instead of running it.
   */
  run<T>(fn: () => Promise<T>, whenStopped: () => T): Promise<T> {
    const result = this.chain.then(async () => {
      if (this.stopped) return whenStopped();
      return fn();
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Lets queued work finish and refuses new work. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain.catch(() => undefined);
  }
}
