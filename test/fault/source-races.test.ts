/**
 * The source changes under a running take: files vanish between listing and reading, are
 * replaced by symlinks or FIFOs, or keep changing while read. No crash, no hang, a warning, and
 * never a blob whose hash does not match its bytes.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { hashStoredFile } from '../../src/store/blobfile.js';
import { parseObjectName } from '../../src/store/layout.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

describe('a source that changes during take', () => {
  it('skips a file that vanishes between listing and reading, with a warning', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'stays'), 'a');
    fs.writeFileSync(path.join(latest, 'goes'), 'b');
    const r = await take(root, {
      testHooks: { beforeRead: (abs) => void (abs.toString().endsWith('goes') && fs.rmSync(abs)) },
    });
    expect(r.warnings).toEqual([expect.objectContaining({ kind: 'vanished', path: 'goes' })]);
    expect(fs.readdirSync(r.path)).toEqual(['stays']);
  });

  it('never follows a symlink swapped in after lstat', async () => {
    const { root, latest } = newRoot();
    const secret = path.join(tempDir(), 'secret');
    fs.writeFileSync(secret, 'must not be copied');
    fs.writeFileSync(path.join(latest, 'f'), 'innocent');
    const r = await take(root, {
      testHooks: {
        beforeRead: (abs) => {
          fs.rmSync(abs);
          fs.symlinkSync(secret, abs);
        },
      },
    });
    expect(r.warnings.map((w) => w.kind)).toEqual(['vanished']);
    expect(fs.readdirSync(r.path)).toEqual([]);
    for (const d of fs.readdirSync(path.join(root, '.snap/objects'))) expect(fs.readdirSync(path.join(root, '.snap/objects', d))).toEqual([]);
  });

  it('never hangs on a FIFO swapped in after lstat', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'data');
    const r = await take(root, {
      testHooks: {
        beforeRead: (abs) => {
          fs.rmSync(abs);
          expect(spawnSync('mkfifo', [abs.toString()]).status).toBe(0);
        },
      },
    });
    expect(r.warnings).toHaveLength(1);
    expect(fs.readdirSync(r.path)).toEqual([]);
  });

  it('stores one consistent version of a file that keeps changing, and warns', async () => {
    const { root, latest } = newRoot();
    const f = path.join(latest, 'growing.log');
    fs.writeFileSync(f, Buffer.alloc(3 << 20, 1)); // streamed in 1 MiB chunks: several awaits
    let writing = true;
    let writer: Promise<void> | undefined;
    const r = await take(root, {
      testHooks: {
        beforeRead: () => {
          writer ??= (async () => {
            while (writing) await fsp.appendFile(f, 'more\n');
          })();
        },
      },
    });
    writing = false;
    await writer;
    expect(r.warnings).toEqual([expect.objectContaining({ kind: 'changing', path: 'growing.log' })]);
    // The stored blob's bytes hash to its name, and the snapshot file is that blob.
    const objects = path.join(root, '.snap/objects');
    const files = fs.readdirSync(objects).flatMap((d) => fs.readdirSync(path.join(objects, d)).map((n) => path.join(objects, d, n)));
    expect(files).toHaveLength(1);
    const h = await hashStoredFile(files[0]!);
    expect(h.hash.equals(parseObjectName(path.basename(files[0]!))!.key.hash)).toBe(true);
    expect(BigInt(fs.statSync(path.join(r.path, 'growing.log')).ino)).toBe(h.stat.ino);
  });
});
