/**
 * Group commit for a store's writes on the main thread (SQS messages, object metadata).
 * The writes of every call made during one turn of the event loop (concurrent requests
 * arrive together) run in call order in one SQLite transaction, each in its own savepoint
 * so that one failing leaves the others, and one flush of the store then makes them all
 * durable. A commit and its WAL frames cost far more than the rows they carry, so a busy
 * store pays them once per turn rather than once per call.
 */

/** What a group needs from its store. */
export interface GroupStore {
  /** Runs `fn` atomically: a transaction, or a savepoint inside one, undone if `fn` throws. */
  transaction<T>(fn: () => T): T;
  /** Resolves once everything committed so far is on disk. */
  flushed(): Promise<void>;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

interface Pending {
  /** Runs the write inside the group's transaction; true when its result must be flushed. */
  execute(): boolean;
  /** Settles the caller's promise: with `failure` when the group could not commit, or its flush failed. */
  settle(failure?: { error: unknown }): void;
}

/** Runs writes in groups: one transaction and one flush for all the calls of a turn. */
export class CommitGroup {
  private pending: Pending[] = [];

  constructor(private readonly store: GroupStore) {}

  /**
   * Runs `fn` atomically with the other writes of this turn and resolves with its result
   * once they are committed and on disk; when `durable(result)` is false (the call changed
   * nothing it acknowledges) the flush is not waited for. An error `fn` throws undoes its
   * own writes and rejects this call only.
   *
   * @example
   * const result = await group.run(() => insertAndDescribe(message));
   */
  run<T>(fn: () => T, durable: (result: T) => boolean = () => true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let outcome: { value: T } | { error: unknown } | undefined;
      this.pending.push({
        execute: () => {
          try {
            const value = this.store.transaction(fn);
            outcome = { value };
            return durable(value);
          } catch (error) {
            outcome = { error };
            return false;
          }
        },
        settle: (failure) => {
          if (failure) reject(asError(failure.error));
          else if (outcome && 'value' in outcome) resolve(outcome.value);
          else reject(asError(outcome?.error ?? new Error('the write did not run')));
        },
      });
      // Once per turn: every call made before the check phase joins this group.
      if (this.pending.length === 1) setImmediate(() => void this.commit());
    });
  }

  private async commit(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    const durable: Pending[] = [];
    const answered: Pending[] = [];
    try {
      this.store.transaction(() => {
        for (const p of group) (p.execute() ? durable : answered).push(p);
      });
    } catch (error) {
      // The group did not commit: nothing of it happened.
      for (const p of group) p.settle({ error });
      return;
    }
    // Failures and answers that acknowledge no change need not wait for the disk.
    for (const p of answered) p.settle();
    if (durable.length === 0) return;
    try {
      await this.store.flushed();
    } catch (error) {
      // Committed but perhaps not on disk: nothing is acknowledged.
      for (const p of durable) p.settle({ error });
      return;
    }
    for (const p of durable) p.settle();
  }
}
