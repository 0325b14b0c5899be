import { describe, expect, it } from 'vitest';
import ignore from 'ignore';
import { DEFAULT_EXCLUDES, matchesDefaultExclude } from '../../src/ops/take/excludes.js';

describe('default excludes fast path', () => {
  it('agrees with the gitignore engine on the default patterns', () => {
    const ig = ignore().add([...DEFAULT_EXCLUDES]);
    const names = [
      '.syncthing.a.tmp', '.syncthing..tmp', '.syncthing.tmp', 'x.syncthing.a.tmp', '~syncthing~f.tmp', '~syncthing~.tmp',
      'song.mp3.!sync', '.!sync', 'a.!sync.bak', '.sync', '.sync2', 'sync', 'normal.txt', 'a.tmp', '.syncthing.a.tmpx',
    ];
    for (const dir of ['', 'a/', 'a/b/']) {
      for (const n of names) {
        for (const isDir of [false, true]) {
          const rel = dir + n;
          const expected = ig.ignores(isDir ? rel + '/' : rel);
          expect(matchesDefaultExclude(Buffer.from(rel), isDir), `${rel} dir=${isDir}`).toBe(expected);
        }
      }
    }
  });
});
