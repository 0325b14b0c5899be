/**
 * A replica is untrusted input. Its catalog is checked with the same invariant check as
 * `snap verify` before anything local is created: a catalog with a hostile row (a `deleting`
 * snapshot named `.latest` or `../victim`, an unsafe entry name, a cycle) is refused with one
 * line and exit 6, and the target root is not even created. Before this check, such a pull
 * succeeded and the next take or gc of the pulled root deleted the live `.latest`, or moved a
 * folder beside the root into the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { gc } from '../../src/ops/retention/gc.js';
import { push } from '../../src/ops/replica/push.js';
import { pull } from '../../src/ops/replica/pull.js';
import { parseReplicaUrl } from '../../src/replica/url.js';
import { headKey } from '../../src/replica/layout.js';
import { hashBytes } from '../../src/store/hasher.js';
import { runCliAsync } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { fullState } from '../helpers/verify-fixture.js';
import { useS3 } from '../helpers/s3-server.js';

process.env.LINKSNAP_NO_SYNC = '1';
const s3 = useS3();

const ep = () => ({ endpoint: s3.endpoint });

/** A pushed root with one snapshot (a file in a subfolder); returns the replica's address. */
async function pushedReplica(): Promise<string> {
  const { root, latest } = newRoot();
  fs.mkdirSync(path.join(latest, 'sub'));
  fs.writeFileSync(path.join(latest, 'sub/f.txt'), 'pushed content');
  await take(root, { now: steppingClock(), racyWindowMs: 0 });
  const url = s3.newUrl();
  await push(root, url, ep());
  return url;
}

/** Rewrite the replica's current catalog with `edit`, and HEAD with the new BLAKE3 and size. */
async function tamperCatalog(url: string, edit: (db: Database.Database) => void): Promise<void> {
  const u = parseReplicaUrl(url);
  const head = JSON.parse((await s3.read(headKey(u))).toString()) as { key: string; blake3: string; size: number };
  const file = path.join(tempDir(), 'cat.db');
  fs.writeFileSync(file, await s3.read(head.key));
  const db = new Database(file);
  try {
    edit(db);
  } finally {
    db.close();
  }
  const bytes = fs.readFileSync(file);
  await s3.overwrite(head.key, bytes);
  await s3.overwrite(headKey(u), Buffer.from(JSON.stringify({ ...head, blake3: hashBytes(bytes).toString('hex'), size: bytes.length })));
}

function addDeletingRow(name: string) {
  return (db: Database.Database) =>
    db
      .prepare(
        `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns)
         SELECT ?, 1, 'deleting', root_tree, root_mode, root_uid, root_gid, root_mtime_ns FROM snapshots LIMIT 1`,
      )
      .run(name);
}

const snapCli = (args: string[]) => runCliAsync(args, { ...s3.env, LINKSNAP_NO_SYNC: '1' });

/** After a refused pull: make the target a root of its own and run a take and a gc there. */
async function useTargetAsRoot(target: string): Promise<string> {
  const latest = path.join(target, '.latest');
  fs.mkdirSync(latest, { recursive: true });
  fs.writeFileSync(path.join(latest, 'live.txt'), 'the live data');
  await take(target, { now: steppingClock(new Date('2027-01-01T00:00:00')), racyWindowMs: 0 });
  await gc(target);
  return latest;
}

describe('pull checks the replica catalog before anything', () => {
  it("refuses a 'deleting' row named .latest: nothing written; the next take and gc keep .latest", async () => {
    const url = await pushedReplica();
    await tamperCatalog(url, addDeletingRow('.latest'));
    const target = path.join(tempDir(), 'restore');
    await expect(pull(url, target, ep())).rejects.toMatchObject({ code: 'UNSAFE_PATH', message: expect.stringMatching(/^the replica's catalog .* is unsafe: snapshot name "\.latest"/) });
    expect(fs.existsSync(target)).toBe(false); // not even the root folder

    const r = await snapCli(['pull', url, target, ...(s3.endpoint ? ['--endpoint', s3.endpoint] : [])]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(2); // the message and its hint
    expect(fs.existsSync(target)).toBe(false);

    const latest = await useTargetAsRoot(target);
    expect(fs.readFileSync(path.join(latest, 'live.txt'), 'utf8')).toBe('the live data');
  });

  it('refuses a row named ../victim: a folder beside the root survives', async () => {
    const url = await pushedReplica();
    await tamperCatalog(url, addDeletingRow('../victim'));
    const base = tempDir();
    const target = path.join(base, 'restore');
    const victim = path.join(base, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'precious.txt'), 'not linksnap’s');
    const before = fullState(victim);
    fs.mkdirSync(target); // an existing, empty root: it stays empty
    await expect(pull(url, target, ep())).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(fs.readdirSync(target)).toEqual([]);
    await useTargetAsRoot(target);
    expect(fullState(victim)).toEqual(before);
  });

  it('refuses an unsafe entry name and a cycle of folders, as verify would report them', async () => {
    const url = await pushedReplica();
    await tamperCatalog(url, (db) => db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from('../../escape'), Buffer.from('f.txt')));
    const target = path.join(tempDir(), 'r1');
    await expect(pull(url, target, ep())).rejects.toMatchObject({ code: 'UNSAFE_PATH', message: expect.stringMatching(/unsafe entry name "\.\.\/\.\.\/escape"/) });
    expect(fs.existsSync(target)).toBe(false);

    const url2 = await pushedReplica();
    await tamperCatalog(url2, (db) => {
      const sub = db.prepare(`SELECT tree FROM entries WHERE name = ?`).get(Buffer.from('f.txt')) as { tree: number };
      db.prepare(`UPDATE entries SET kind = 2, hash = NULL, subtree = ? WHERE name = ?`).run(sub.tree, Buffer.from('f.txt'));
    });
    const target2 = path.join(tempDir(), 'r2');
    await expect(pull(url2, target2, ep())).rejects.toMatchObject({ code: 'CATALOG', message: expect.stringMatching(/cycle/) });
    expect(fs.existsSync(target2)).toBe(false);
  });
});
