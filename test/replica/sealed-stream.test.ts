/**
 * The segmented AEAD of encrypted replicas (src/replica/sealed-stream.ts) and the bandwidth
 * limiter (src/replica/throttle.ts), without a server: round trips of every size around the
 * segment boundaries, streamed or from memory; any flipped byte, any cut, a swapped binding or
 * key fails authentication; and the token bucket's schedule, on a fake clock.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthFailure, HEADER_BYTES, SEGMENT, openBuffer, openStream, sealBuffer, sealStream, sealedSize } from '../../src/replica/sealed-stream.js';
import { TokenBucket, type Clock } from '../../src/replica/throttle.js';

const key = randomBytes(32);

async function collect(input: Buffer, t: NodeJS.ReadWriteStream, pieces = 65536): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = [];
  for (let i = 0; i < input.length; i += pieces) chunks.push(input.subarray(i, i + pieces));
  await pipeline(Readable.from(chunks), t, async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

const sizes = [0, 1, 100, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 2 * SEGMENT + 17];

describe('sealed objects', () => {
  it('round-trip at every size around the segment boundaries, streamed and from memory, with the size the codec predicts', async () => {
    for (const n of sizes) {
      const plain = randomBytes(n);
      const fromMemory = sealBuffer(key, 'blob a', plain);
      const streamed = await collect(plain, sealStream(key, 'blob a'), 100_000);
      expect(fromMemory.length).toBe(sealedSize(n));
      expect(streamed.length).toBe(sealedSize(n));
      expect((await collect(fromMemory, openStream(key, 'blob a', 'x'), 77_777)).equals(plain)).toBe(true);
      expect((await openBuffer(key, 'blob a', 'x', streamed)).equals(plain)).toBe(true);
    }
  });

  it('fails authentication for any flipped byte, any cut, another binding or another key', async () => {
    const plain = randomBytes(2 * SEGMENT + 5);
    const sealed = sealBuffer(key, 'blob a', plain);
    const fails = (b: Buffer, k = key, binding = 'blob a') => expect(openBuffer(k, binding, 'the blob', b)).rejects.toBeInstanceOf(AuthFailure);
    await fails(sealed, key, 'blob b'); // moved to another name
    await fails(sealed, randomBytes(32)); // another replica's key
    // cut at each segment boundary (what a truncation that keeps whole segments looks like), and elsewhere
    const segEnd = (i: number) => HEADER_BYTES + (i + 1) * (SEGMENT + 16);
    for (const cut of [segEnd(0), segEnd(1), HEADER_BYTES, HEADER_BYTES - 1, sealed.length - 1, 10]) await fails(sealed.subarray(0, cut));
    await fails(Buffer.concat([sealed, Buffer.from('x')]));
    // any flipped byte, in an object of two segments (header, first segment, last segment)
    const two = sealBuffer(key, 'blob a', randomBytes(SEGMENT + 5));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: two.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const bad = Buffer.from(two);
        bad[at]! ^= xor;
        await fails(bad);
      }),
      { numRuns: 25 },
    );
    for (const at of [0, HEADER_BYTES - 1, HEADER_BYTES, two.length - 17, two.length - 1]) {
      const bad = Buffer.from(two);
      bad[at]! ^= 1;
      await fails(bad);
    }
  });

  it('gives two seals of one content different bytes (fresh salt and nonces per object)', () => {
    const plain = Buffer.from('same content');
    expect(sealBuffer(key, 'n', plain).equals(sealBuffer(key, 'n', plain))).toBe(false);
  });
});

describe('token bucket', () => {
  function fakeClock(): Clock & { slept: number } {
    let t = 0;
    const c = {
      slept: 0,
      now: () => t,
      sleep: async (ms: number) => {
        c.slept += ms;
        t += ms;
      },
    };
    return c;
  }

  it('holds concurrent transfers together to the rate (time asked for = bytes / rate, less one burst)', async () => {
    const clock = fakeClock();
    const b = new TokenBucket(100 * 1024, clock);
    // four "transfers" of 1 MiB each, interleaved
    await Promise.all([0, 1, 2, 3].map(async () => {
      for (let i = 0; i < 16; i++) await b.take(64 * 1024);
    }));
    const expectedMs = ((4 << 20) - 64 * 1024) / (100 * 1024) * 1000;
    expect(clock.slept).toBeGreaterThanOrEqual(expectedMs - 1);
    expect(clock.slept).toBeLessThanOrEqual(expectedMs + 1);
  });

  it('lets a small transfer through at once', async () => {
    const clock = fakeClock();
    await new TokenBucket(1024 * 1024, clock).take(1000);
    expect(clock.slept).toBe(0);
  });
});
