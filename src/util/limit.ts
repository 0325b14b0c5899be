/** A counting semaphore: at most `max` of the functions passed to run() are in flight. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

/**
 * Run fn over items with the limiter; waits for all even when one fails, then throws the first
 * error, so no work is left running behind a failed operation (it might otherwise write into a
 * staging folder that is being removed).
 */
export async function allSettledOrThrow<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = await Promise.allSettled(items.map((item, i) => fn(item, i)));
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

/**
 * Run fn over items, at most `concurrency` at once, with one promise per worker instead of one
 * per item: a push or pull of a million blobs must not hold a million pending promises (about
 * 1 KB each). After a failure no new item starts; the running ones are awaited, then the first
 * error is thrown (as allSettledOrThrow: nothing is left running behind a failed operation).
 */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
}
