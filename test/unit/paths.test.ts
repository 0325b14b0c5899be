import { describe, expect, it } from 'vitest';
import { isSafeName, showName, splitRelative, joinPath } from '../../src/util/paths.js';
import { objectName, parseObjectName, snapshotNameFor } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { usToUtimeArg } from '../../src/store/times.js';

describe('names and paths', () => {
  it('accepts ordinary and non-UTF-8 names, refuses traversal', () => {
    expect(isSafeName(Buffer.from('a.txt'))).toBe(true);
    expect(isSafeName(Buffer.from([0x62, 0xff, 0x0a]))).toBe(true);
    for (const bad of ['', '.', '..', 'a/b', '/abs', 'x\0y']) expect(isSafeName(Buffer.from(bad))).toBe(false);
    expect(isSafeName(Buffer.alloc(256, 0x61))).toBe(false);
  });

  it('splits relative paths and refuses .. and absolute ones', () => {
    expect(splitRelative(Buffer.from('a//b/./c/')).map(String)).toEqual(['a', 'b', 'c']);
    expect(() => splitRelative(Buffer.from('a/../b'))).toThrow(/\.\./);
    expect(() => splitRelative(Buffer.from('/etc'))).toThrow(/relative/);
  });

  it('shows invalid bytes and control characters escaped', () => {
    expect(showName(Buffer.from('héllo'))).toBe('héllo');
    expect(showName(Buffer.from([0x61, 0xff, 0x0a, 0x62]))).toBe('a\\xff\\x0ab');
    expect(joinPath(Buffer.alloc(0), Buffer.from('x')).toString()).toBe('x');
    expect(joinPath(Buffer.from('a'), Buffer.from('x')).toString()).toBe('a/x');
  });

  it('object names round-trip, including replicas and pre-1970 times', () => {
    const key = { hash: Buffer.alloc(32, 0xab), mode: 0o4755, uid: 1000, gid: 100, mtimeUs: -1_500_000n };
    for (const replica of [0, 1, 12]) {
      const parsed = parseObjectName(objectName(key, replica))!;
      expect(parsed.replica).toBe(replica);
      expect(parsed.key).toEqual(key);
    }
    expect(parseObjectName('junk')).toBeUndefined();
    expect(parseObjectName(objectName(key) + '.tmp')).toBeUndefined();
  });

  it('floors ns to µs and encodes utimes arguments that survive libuv truncation', () => {
    expect(nsToUs(1_999n)).toBe(1n);
    expect(nsToUs(-1n)).toBe(-1n);
    expect(nsToUs(-1000n)).toBe(-1n);
    const us = 1_732_600_000_123_456n;
    const arg = usToUtimeArg(us);
    // libuv: sec = floor(arg), nsec = (arg - sec) * 1e9 truncated to µs
    const sec = Math.floor(arg);
    expect(BigInt(sec) * 1_000_000n + BigInt(Math.floor(((arg - sec) * 1e9) / 1000))).toBe(us);
  });

  it('formats snapshot names like the seed script', () => {
    expect(snapshotNameFor(new Date(2026, 10, 26, 3, 4, 5))).toBe('2026-11-26_03.04.05');
  });
});
