import { describe, expect, it } from 'vitest';
import { _useBackendForTests, createHash, hashBytes, hasherName } from '../../src/store/hasher.js';

describe('hasher', () => {
  it('computes the BLAKE3 test vector for the empty input', () => {
    expect(hashBytes(Buffer.alloc(0)).toString('hex')).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it('native and wasm backends give identical digests, one-shot and incremental', () => {
    let native = true;
    try {
      _useBackendForTests('native');
    } catch {
      native = false; // not installable on this platform: the wasm path is still checked
    }
    const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 65536, 1 << 20, (1 << 20) + 7];
    const inputs = sizes.map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)));
    const digests = (which: 'native' | 'wasm') => {
      _useBackendForTests(which);
      return inputs.map((b) => {
        const inc = createHash();
        for (let off = 0; off < b.length; off += 1000) inc.update(b.subarray(off, off + 1000));
        const one = hashBytes(b).toString('hex');
        expect(inc.digest().toString('hex')).toBe(one);
        return one;
      });
    };
    const wasm = digests('wasm');
    expect(hasherName()).toBe('wasm');
    if (native) {
      expect(digests('native')).toEqual(wasm);
      expect(hasherName()).toBe('native');
    }
  });

  it('reused native hashers stay independent: interleaved streams, reuse after digest, no double digest', () => {
    for (const which of ['native', 'wasm'] as const) {
      try {
        _useBackendForTests(which);
      } catch {
        continue; // not available on this platform
      }
      const a = Buffer.from('first stream, '.repeat(100));
      const b = Buffer.from('second stream! '.repeat(70));
      for (let round = 0; round < 3; round++) {
        const ha = createHash();
        const hb = createHash();
        ha.update(a.subarray(0, 500));
        hb.update(b.subarray(0, 300));
        expect(hashBytes(Buffer.from('one-shot in between')).length).toBe(32);
        ha.update(a.subarray(500));
        hb.update(b.subarray(300));
        expect(ha.digest().equals(hashBytes(a))).toBe(true);
        expect(hb.digest().equals(hashBytes(b))).toBe(true);
      }
      const h = createHash();
      h.update(a);
      h.digest();
      if (which === 'native') expect(() => h.digest()).toThrow(/twice/);
    }
  });
});
