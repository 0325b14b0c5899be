/**
 * --limit-upload / --limit-download: one token bucket per direction, shared by every transfer of
 * a command, so N concurrent uploads together stay under the limit. Bytes are admitted in
 * slices of at most BURST; each slice waits until the bucket's virtual clock allows it.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';

const BURST = 64 << 10;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export class TokenBucket {
  /** When (clock ms) the bytes admitted so far will have drained at the rate. */
  private drainedAt = -Infinity;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Clock = realClock,
  ) {}

  /** Wait until `n` more bytes may go. */
  async take(n: number): Promise<void> {
    for (let left = n; left > 0; left -= BURST) {
      const slice = Math.min(left, BURST);
      const now = this.clock.now();
      // A slice may start when the backlog left is at most one burst's worth.
      this.drainedAt = Math.max(this.drainedAt, now) + (slice * 1000) / this.bytesPerSecond;
      const wait = this.drainedAt - now - (BURST * 1000) / this.bytesPerSecond;
      if (wait > 0) await this.clock.sleep(wait);
    }
  }
}

/** KiB/s from the command line; undefined means no limit. */
export function bucketFor(kibPerSecond: number | undefined): TokenBucket | undefined {
  return kibPerSecond === undefined ? undefined : new TokenBucket(kibPerSecond * 1024);
}

/** A pass-through stream that holds each chunk until the bucket admits it. */
export function throttled(bucket: TokenBucket): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      bucket.take(chunk.length).then(() => cb(null, chunk), cb);
    },
  });
}

/** A buffer as a stream whose slices go at the bucket's pace (a fresh one per attempt). */
export function throttledBody(data: Buffer, bucket: TokenBucket): Readable {
  return Readable.from(
    (async function* () {
      for (let off = 0; off < data.length; off += BURST) {
        const slice = data.subarray(off, off + BURST);
        await bucket.take(slice.length);
        yield slice;
      }
    })(),
  );
}
