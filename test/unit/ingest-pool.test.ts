/**
 * The worker pool's contract with the descriptors of source folders: a worker opens a folder,
 * the main thread owns and closes the descriptor, and a worker that stops must not close it a
 * second time (Node workers close the descriptors they opened when they exit, unless told not
 * to) — by then the number may belong to another file of the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IngestPool } from '../../src/store/ingest-pool.js';
import { tempDir } from '../helpers/tmp.js';

describe('ingest pool', () => {
  it('never closes a folder descriptor the main thread owns, when its workers stop', async () => {
    const dir = tempDir();
    const stage = tempDir();
    const st = fs.statSync(dir, { bigint: true });
    const pool = new IngestPool();
    const r = await pool.scan({
      folder: { name: Buffer.from(dir), expect: { dev: st.dev, ino: st.ino } },
      stageDir: Buffer.from(stage),
      objectsDir: path.join(stage, 'objects'),
      link: true,
      owners: false,
      chunked: false,
    });
    if (!('fd' in r)) throw new Error(`scan failed: ${JSON.stringify(r)}`);
    fs.closeSync(r.fd);
    // The lowest free number is reused: this file now has the folder's old descriptor.
    const mine = fs.openSync(path.join(stage, 'mine'), 'w');
    expect(mine).toBe(r.fd);
    await pool.close();
    expect(() => fs.fstatSync(mine)).not.toThrow();
    fs.closeSync(mine);
  });
});
