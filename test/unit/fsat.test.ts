// The *at() helpers (src/util/fsat.ts): the native addon and the fs fallback give the same
// answers — fields, symlinks not followed, errors as codes, names as bytes.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { loadWithNative } from '../helpers/native-env.js';
import { unpackNames } from '../../src/util/name-list.js';

type FsAt = typeof import('../../src/util/fsat.js');

const native = await loadWithNative('1', () => import('../../src/util/fsat.js'));
const fallback = await loadWithNative('0', () => import('../../src/util/fsat.js'));

it('the fallback is used when LINKSNAP_NATIVE=0', () => {
  expect(fallback.nativeFsAt).toBe(false);
});

// CI builds the addon (npm ci) and asks for it: a build that silently failed must not pass as
// a run of the native code.
it.runIf(process.env.LINKSNAP_REQUIRE_NATIVE === '1')('the native addon is built and loaded', () => {
  expect(native.nativeFsAt).toBe(true);
});

const FIELDS = ['dev', 'ino', 'mode', 'uid', 'gid', 'size', 'mtimeNs', 'ctimeNs', 'nlink'] as const;

function fieldsOf(st: Record<(typeof FIELDS)[number], bigint>): Record<string, bigint> {
  return Object.fromEntries(FIELDS.map((f) => [f, st[f]]));
}

const impls: [string, FsAt][] = native.nativeFsAt ? [['native', native], ['fallback', fallback]] : [['fallback', fallback]];
if (!native.nativeFsAt) console.warn('fsat: the native addon is not built here (npm ci builds it); only the fallback is tested');

describe.each(impls)('%s', (_label, at) => {
  function setup() {
    const dir = tempDir();
    const odd = Buffer.from([0x66, 0xff, 0x0a, 0x67]); // not UTF-8, with a newline
    fs.writeFileSync(path.join(dir, 'f'), 'hello');
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), odd]), 'odd');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync('f', path.join(dir, 'link'));
    fs.symlinkSync('sub', path.join(dir, 'dirlink'));
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    return { dir, odd, fd };
  }

  it('lstatAt gives the fields fs.lstatSync gives, relative to an open folder or by path', () => {
    const { dir, odd, fd } = setup();
    try {
      for (const name of ['f', 'sub', 'link', odd]) {
        const st = at.lstatAt(fd, name);
        if (typeof st === 'string') throw new Error(st);
        const p = typeof name === 'string' ? path.join(dir, name) : Buffer.concat([Buffer.from(dir + '/'), name]);
        const want = fs.lstatSync(p, { bigint: true });
        expect(fieldsOf(st)).toEqual(fieldsOf(want));
        expect([st.isFile(), st.isDirectory(), st.isSymbolicLink()]).toEqual([want.isFile(), want.isDirectory(), want.isSymbolicLink()]);
        const byPath = at.lstatAt(at.AT_FDCWD, p);
        if (typeof byPath === 'string') throw new Error(byPath);
        expect(fieldsOf(byPath)).toEqual(fieldsOf(want));
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('lstatAt reports errors as codes, and lstatAtOrUndefined treats only absence as nothing', () => {
    const { fd } = setup();
    try {
      expect(at.lstatAt(fd, 'missing')).toBe('ENOENT');
      expect(at.lstatAt(fd, 'f/below')).toBe('ENOTDIR');
      expect(at.lstatAtOrUndefined(fd, 'missing')).toBeUndefined();
      expect(at.lstatAtOrUndefined(fd, 'f/below')).toBeUndefined();
      expect(() => at.lstatAtOrUndefined(fd, 'x'.repeat(300))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('linkAt makes a hard link, never replaces a name, and links a symlink itself', () => {
    const { dir, odd, fd } = setup();
    const sub = fs.openSync(path.join(dir, 'sub'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      expect(at.linkAt(fd, 'f', sub, odd)).toBeUndefined();
      const a = fs.lstatSync(path.join(dir, 'f'));
      const b = fs.lstatSync(Buffer.concat([Buffer.from(dir + '/sub/'), odd]));
      expect(b.ino).toBe(a.ino);
      expect(a.nlink).toBe(2);
      expect(at.linkAt(fd, 'f', sub, odd)).toBe('EEXIST');
      expect(at.linkAt(fd, 'missing', sub, 'x')).toBe('ENOENT');
      expect(at.linkAt(fd, 'link', sub, 'l2')).toBeUndefined();
      expect(fs.lstatSync(path.join(dir, 'sub/l2')).isSymbolicLink()).toBe(true);
      expect(at.linkAt(at.AT_FDCWD, path.join(dir, 'f'), at.AT_FDCWD, path.join(dir, 'f3'))).toBeUndefined();
      expect(fs.lstatSync(path.join(dir, 'f3')).ino).toBe(a.ino);
    } finally {
      fs.closeSync(sub);
      fs.closeSync(fd);
    }
  });

  it('listNamesAt lists every name but . and .., packed in byte order', () => {
    const { dir, odd, fd } = setup();
    const empty = fs.openSync(path.join(dir, 'sub'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    const file = fs.openSync(path.join(dir, 'f'), fs.constants.O_RDONLY);
    try {
      const packed = at.listNamesAt(fd);
      if (typeof packed === 'string') throw new Error(packed);
      const want = [...fs.readdirSync(dir, { encoding: 'buffer' })].sort(Buffer.compare);
      expect(unpackNames(packed)).toEqual(want);
      expect(unpackNames(packed)).toContainEqual(odd);
      expect(at.listNamesAt(empty)).toEqual(Buffer.alloc(0));
      expect(at.listNamesAt(file)).toBe('ENOTDIR');
    } finally {
      fs.closeSync(file);
      fs.closeSync(empty);
      fs.closeSync(fd);
    }
  });

  it('listNamesAt sorts like Buffer.compare: prefixes first, bytes unsigned', () => {
    const dir = tempDir();
    const names = ['b', 'a', 'ab', 'aa', 'a\u00e9', 'Z', '~', '0'].map((n) => Buffer.from(n));
    names.push(Buffer.from([0x80]), Buffer.from([0xff, 0x01]), Buffer.from([0x61, 0xff]));
    for (const n of names) fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), n]), '');
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const packed = at.listNamesAt(fd);
      if (typeof packed === 'string') throw new Error(packed);
      expect(unpackNames(packed)).toEqual([...names].sort(Buffer.compare));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('openFolderAt opens a folder, never through a symlink', () => {
    const { dir, fd } = setup();
    try {
      const sub = at.openFolderAt(fd, 'sub');
      if (typeof sub === 'string') throw new Error(sub);
      expect(fs.fstatSync(sub).ino).toBe(fs.lstatSync(path.join(dir, 'sub')).ino);
      fs.closeSync(sub);
      // O_DIRECTORY | O_NOFOLLOW: Linux answers ENOTDIR for a symlink (it is not a folder itself).
      expect(at.openFolderAt(fd, 'dirlink')).toBe('ENOTDIR');
      expect(at.openFolderAt(fd, 'f')).toBe('ENOTDIR');
      expect(at.openFolderAt(fd, 'missing')).toBe('ENOENT');
      const top = at.openFolderAt(at.AT_FDCWD, dir);
      if (typeof top === 'string') throw new Error(top);
      fs.closeSync(top);
    } finally {
      fs.closeSync(fd);
    }
  });
});
