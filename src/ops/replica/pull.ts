/**
 * `snap pull s3://bucket/prefix <root> [<snapshot>...]`: rebuild a local store and its dated
 * folders from a replica, into an empty (or new) root.
 *
 * A replica is untrusted input: before anything is created under the root, the catalog HEAD
 * names is downloaded into a private temp folder ($TMPDIR) and checked — its BLAKE3, SQLite's
 * integrity_check, and every invariant `snap verify` checks (catalog/invariants.ts: every name
 * in every state, references, cycles, object keys). A catalog that fails is refused, and the
 * root is left as it was (not even created).
 *
 * Then, mirroring a take so that recovery needs nothing new:
 *   1. lock the (new) root; copy the checked catalog into .snap/tmp; keep only the named
 *      snapshots (and what they reference);
 *   2. download each content once, check it against its BLAKE3 name, and publish every local
 *      (content, metadata) object from it (ObjectPlacer): so far these are strays to the local
 *      (empty) catalog, and a rerun reuses the ones that hash right: pull resumes;
 *   3. build every snapshot folder in .snap/staging; syncfs;
 *   4. rename the downloaded catalog over the empty local one: the snapshots now exist;
 *   5. rename the staged folders into the root.
 * A kill before 4 leaves an empty store (recovery removes the staging folders); a kill after 4
 * leaves complete staged folders, which the next locked run renames into place.
 *
 * An encrypted replica is opened with its key first (a wrong one: nothing written anywhere); its
 * HEAD must not be older than the newest this machine has seen (rollback-guard.ts); its catalog
 * and every blob are authenticated while they are downloaded, before the checks above.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openRoot, lockRoot, type Root } from '../shared/root.js';
import { recover } from '../shared/recover.js';
import { ObjectPlacer } from '../shared/object-placer.js';
import { buildSnapshot } from '../shared/build-folder.js';
import { MAX_TREE_DEPTH } from '../shared/snapshot-tree.js';
import { DEFAULT_CONCURRENCY, type TransferProgress } from '../../replica/defaults.js';
import { openReplica, type SecretProvider } from '../../replica/open-replica.js';
import type { ReplicaCodec } from '../../replica/codec.js';
import type { ReplicaHead } from '../../replica/layout.js';
import { AuthFailure } from '../../replica/sealed-stream.js';
import { rememberHead, rollbackProblem } from '../../replica/rollback-guard.js';
import { bucketFor } from '../../replica/throttle.js';
import { Catalog } from '../../catalog/catalog.js';
import { catalogInvariantProblems, type CatalogProblem } from '../../catalog/invariants.js';
import {
  catalogFileProblems,
  checkpointToSingleFile,
  distinctContents,
  filesWithoutObject,
  resetForLocalStore,
  variantsOf,
  type ObjectVariant,
} from '../../catalog/replica-queries.js';
import { objectPath, pullCatalogName, type StoreLayout } from '../../store/layout.js';
import { HASH_BYTES } from '../../store/hasher.js';
import { assertSnapshotName } from '../../model/snapshot-name.js';
import { type ObjectKey } from '../../model/object-key.js';
import { copyToTmp, hashStoredFile, tmpName } from '../../store/blobfile.js';
import { fsyncDir, syncFileSystem } from '../../store/durability.js';
import { nsToUtimeArg } from '../../store/times.js';
import { ReplicaClient, HashMismatch } from '../../replica/client.js';
import { blobKey } from '../../replica/layout.js';
import { parseReplicaUrl } from '../../replica/url.js';
import { forEachConcurrently } from '../../util/limit.js';
import { SnapError, errnoCode, wrapFsError } from '../../errors.js';
import { faultPoint } from '../../util/fault.js';
import { lexists } from '../../util/fs.js';

export interface PullOptions {
  endpoint?: string;
  concurrency?: number;
  /** Only these snapshots (default: all the replica holds). */
  snapshots?: string[];
  waitMs?: number;
  onProgress?: (p: TransferProgress) => void;
  /** Asked for the passphrase or key file only when the replica is encrypted. */
  secret?: SecretProvider;
  /** KiB/s for all downloads of this pull together. */
  limitDownloadKiB?: number;
}

export interface PullResult {
  url: string;
  root: string;
  generation: string;
  snapshots: string[];
  /** Distinct contents the pulled snapshots use. */
  blobs: number;
  downloadedBlobs: number;
  downloadedBytes: number;
  /** Contents found already published by an earlier, interrupted pull (hash checked). */
  reusedBlobs: number;
  /** Local (content, metadata) objects published. */
  objects: number;
  seconds: number;
}

export async function pull(urlArg: string, rootArg: string, opts: PullOptions = {}): Promise<PullResult> {
  const t0 = process.hrtime.bigint();
  const r = parseReplicaUrl(urlArg);
  if (!rootArg) throw new SnapError('USAGE', 'missing <root> argument');
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SnapError('USAGE', `--concurrency must be a positive integer, got ${concurrency}`);
  const client = new ReplicaClient(r, { endpoint: opts.endpoint, downloadLimit: bucketFor(opts.limitDownloadKiB) });
  let checked: { dir: string; file: string } | undefined;
  try {
    await client.checkBucket();
    const { head, codec } = await openReplica(client, r, opts.secret);
    if (!head) throw new SnapError('NOT_A_STORE', `no linksnap replica at ${r.url} (no HEAD)`, { hint: 'push to it first: snap push <root> ' + r.url });
    const replayed = codec.stateId && rollbackProblem(codec.stateId, head, r.url);
    if (replayed) throw new SnapError('CATALOG', replayed, { hint: 'nothing was written. The bucket was tampered with, or restored from an old copy' });
    checked = await fetchCheckedCatalog(client, codec, r.url, head, opts.snapshots);

    const rootPath = path.resolve(rootArg);
    await fsp.mkdir(rootPath, { recursive: true }).catch((e) => {
      throw wrapFsError(e, `creating ${rootPath}`);
    });
    const local = openRoot(rootPath, { create: true });
    let lock;
    try {
      lock = lockRoot(local, 'pull', opts.waitMs);
      await recover(local);
      if (local.catalog.listSnapshots().length > 0) {
        throw new SnapError('EXISTS', `${rootPath} already holds snapshots; pull rebuilds a store only into an empty root`, {
          hint: 'pull into a new folder',
        });
      }
      local.close(); // the empty catalog is replaced at the end; the lock stays held
      const result = await pullLocked(client, codec, r.url, head, checked.file, local, opts, concurrency, t0);
      if (codec.stateId) rememberHead(codec.stateId, head);
      return result;
    } finally {
      lock?.release();
      local.close();
    }
  } finally {
    if (checked) await fsp.rm(checked.dir, { recursive: true, force: true });
    client.close();
  }
}

/**
 * Download the catalog HEAD names into a fresh private temp folder and check it as verify would,
 * plus the snapshot names asked for. Returns the folder (the caller removes it) and the file.
 */
async function fetchCheckedCatalog(
  client: ReplicaClient,
  codec: ReplicaCodec,
  url: string,
  head: ReplicaHead,
  wanted: string[] | undefined,
): Promise<{ dir: string; file: string }> {
  const refuse = (what: string, code: 'CATALOG' | 'UNSAFE_PATH' = 'CATALOG') =>
    new SnapError(code, `the replica's catalog ${head.key} ${what}`, {
      hint: `nothing was written. Check the replica with \`snap verify ${url}\`, and push again from a good store`,
    });
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'linksnap-pull-'));
  try {
    const file = path.join(dir, 'catalog.db');
    let got;
    try {
      got = await client.getFile(head.key, file, undefined, codec.openCatalog(head.generation, `the replica's catalog ${head.key}`));
    } catch (e) {
      if (e instanceof AuthFailure) throw refuse('fails authentication (altered, truncated, swapped or replayed)');
      throw e;
    }
    if (got.blake3 !== head.blake3) throw refuse('does not match the BLAKE3 in HEAD');
    const damaged = catalogFileProblems(file);
    if (damaged.length) throw refuse(`is damaged: ${damaged[0]}`);
    const cat = Catalog.open(file, { readonly: true });
    try {
      // SQLite's integrity_check ran above, with the schema checks a foreign file needs first.
      const problems = catalogInvariantProblems(cat, { sqlite: 'none', hashBytes: HASH_BYTES, maxTreeDepth: MAX_TREE_DEPTH });
      if (problems.length) {
        // The first unsafe name if there is one: that is what the check is for.
        const isName = (p: CatalogProblem) => p.kind === 'snapshot-name' || p.kind === 'entry-name';
        const first = problems.find(isName) ?? problems[0]!;
        const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
        throw isName(first) ? refuse(`is unsafe: ${first.message}${more}`, 'UNSAFE_PATH') : refuse(`is damaged: ${first.message}${more}`);
      }
      const orphans = filesWithoutObject(cat);
      if (orphans > 0) throw refuse(`is damaged: ${orphans} file entries have no objects row`);
      wantedSnapshots(cat, wanted);
    } finally {
      cat.close();
    }
    return { dir, file };
  } catch (e) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function pullLocked(
  client: ReplicaClient,
  codec: ReplicaCodec,
  url: string,
  head: ReplicaHead,
  checkedFile: string,
  local: Root,
  opts: PullOptions,
  concurrency: number,
  t0: bigint,
): Promise<PullResult> {
  const { layout } = local;
  // The catalog is renamed over the local one at the end: it must live on the store's file system.
  const catFile = path.join(layout.tmp, pullCatalogName());
  await fsp.copyFile(checkedFile, catFile, fs.constants.COPYFILE_EXCL);
  const cat = Catalog.open(catFile);
  let committed = false;
  try {
    const names = wantedSnapshots(cat, opts.snapshots);
    keepOnly(cat, names);
    resetForLocalStore(cat);
    for (const n of names) {
      if ((lexists(path.join(layout.root, n))) || (lexists(path.join(layout.staging, n)))) {
        throw new SnapError('EXISTS', `${path.join(layout.root, n)} already exists`, { hint: 'pull into an empty folder' });
      }
    }
    // ObjectPlacer works against the downloaded catalog: it knows every object (so `ensure`
    // is forced), and it records link-limit replicas made on this file system.
    const staged: Root = { layout, catalog: cat, asRoot: local.asRoot, close: () => {} };
    const placer = new ObjectPlacer(staged);
    const counts = await fetchObjects(client, codec, url, cat, staged, placer, concurrency, opts.onProgress);
    await syncFileSystem(layout.store);
    faultPoint('pull:objects-published');

    for (const n of names) await stageSnapshot(cat, staged, placer, n);
    await syncFileSystem(layout.store);
    faultPoint('pull:staged');

    const topMtimes = new Map(names.map((n) => [n, cat.getSnapshot(n)!.rootMtimeNs]));
    checkpointToSingleFile(cat);
    cat.close();
    committed = true;
    // A leftover -wal of the empty catalog would be replayed into the new file: remove first.
    for (const ext of ['-wal', '-shm']) await fsp.rm(layout.catalog + ext, { force: true });
    await fsp.rename(catFile, layout.catalog);
    await fsyncDir(layout.store);
    faultPoint('pull:catalog-committed');

    for (const [n, mtimeNs] of topMtimes) {
      const final = path.join(layout.root, n);
      await fsp.rename(path.join(layout.staging, n), final);
      // Moving a folder to a new parent rewrites its '..' entry, which may touch its mtime.
      const t = nsToUtimeArg(mtimeNs);
      await fsp.utimes(final, t, t);
    }
    await fsyncDir(layout.root);
    return {
      url,
      root: layout.root,
      generation: head.generation,
      snapshots: names,
      ...counts,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    };
  } catch (e) {
    throw wrapFsError(e, 'pulling');
  } finally {
    if (!committed) {
      cat.close();
      await fsp.rm(catFile, { force: true });
    }
  }
}

/** The complete snapshots to pull: `wanted` (all when empty), each checked to exist. */
function wantedSnapshots(cat: Catalog, wanted: string[] | undefined): string[] {
  const all = cat.listSnapshots().filter((s) => s.state === 'complete');
  // Names become folder names: checked by the invariants already, and again where they are used.
  for (const s of all) assertSnapshotName(s.name);
  if (!wanted || wanted.length === 0) return all.map((s) => s.name);
  const have = new Set(all.map((s) => s.name));
  for (const w of wanted) {
    if (!have.has(w)) throw new SnapError('NO_SNAPSHOT', `the replica has no snapshot named ${w}`, { hint: `its snapshots: ${[...have].join(' ') || '(none)'}` });
  }
  const keep = new Set(wanted);
  return all.filter((s) => keep.has(s.name)).map((s) => s.name);
}

/** Keep only `names` in the downloaded catalog, and what they reference. */
function keepOnly(cat: Catalog, names: readonly string[]): void {
  const keep = new Set(names);
  const all = cat.listSnapshots();
  if (all.every((s) => keep.has(s.name))) return;
  cat.transaction(() => {
    for (const s of all) if (!keep.has(s.name)) cat.deleteSnapshot(s.name);
    cat.deleteUnreachableTrees();
    for (const o of cat.unreferencedObjects()) cat.deleteObject(o);
    cat.clearRemovedRoots(); // collected here, in full
  });
}

/** A previously published variant that still hashes to its name: an interrupted pull's work. */
async function reusableObject(layout: StoreLayout, hash: Buffer, variants: ObjectVariant[], size: number): Promise<string | undefined> {
  for (const v of variants) {
    const p = objectPath(layout, { hash, ...v });
    try {
      const st = await fsp.lstat(p);
      if (!st.isFile() || st.size !== size) continue;
      const h = await hashStoredFile(p);
      if (h.hash.equals(hash)) return p;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  return undefined;
}

async function fetchObjects(
  client: ReplicaClient,
  codec: ReplicaCodec,
  url: string,
  cat: Catalog,
  staged: Root,
  placer: ObjectPlacer,
  concurrency: number,
  onProgress: PullOptions['onProgress'],
): Promise<Pick<PullResult, 'blobs' | 'downloadedBlobs' | 'downloadedBytes' | 'reusedBlobs' | 'objects'>> {
  const { layout } = staged;
  const contents = distinctContents(cat);
  const progress: TransferProgress = { phase: 'download', doneBlobs: 0, totalBlobs: contents.length, doneBytes: 0, totalBytes: contents.reduce((s, c) => s + c.size, 0) };
  const out = { blobs: contents.length, downloadedBlobs: 0, downloadedBytes: 0, reusedBlobs: 0, objects: 0 };
  onProgress?.(progress);
  await forEachConcurrently(contents, concurrency, async (c) => {
    const hash = Buffer.from(c.hex, 'hex');
    const variants = variantsOf(cat, hash);
    let source = await reusableObject(layout, hash, variants, c.size);
    let downloaded: string | undefined;
    if (source) {
      out.reusedBlobs++;
      progress.doneBytes += c.size;
    } else {
      downloaded = tmpName(layout.tmp);
      const name = codec.blobName(c.hex);
      const key = blobKey(client.url, name);
      const onBytes = (n: number) => {
        progress.doneBytes += n;
        onProgress?.(progress);
      };
      let got;
      try {
        got = await client.getFile(key, downloaded, onBytes, codec.openBlob(name, `blob ${key} of ${url}`));
      } catch (e) {
        await fsp.rm(downloaded, { force: true });
        throw e;
      }
      if (got.blake3 !== c.hex || got.size !== c.size) {
        await fsp.rm(downloaded, { force: true });
        throw new HashMismatch(c.hex, got.size !== c.size ? `${got.blake3} (${got.size} bytes, expected ${c.size})` : got.blake3, 'remote', `blob ${key} of ${url}`);
      }
      source = downloaded;
      out.downloadedBlobs++;
      out.downloadedBytes += got.size;
    }
    try {
      for (const v of variants) {
        const key: ObjectKey = { hash, ...v };
        // Each variant is its own inode; FICLONE makes the copies free where supported.
        await placer.ensure(key, c.size, { tmpPath: await copyToTmp(source, layout.tmp) }, true);
        out.objects++;
      }
    } finally {
      if (downloaded) await fsp.rm(downloaded, { force: true });
    }
    progress.doneBlobs++;
    onProgress?.(progress);
    faultPoint('pull:blob-placed');
  });
  return out;
}

/**
 * Build a snapshot's folder in .snap/staging/<name>, exactly as a take would have left it
 * (materialize.ts's builder: names re-checked, folders finished after their contents).
 */
async function stageSnapshot(cat: Catalog, staged: Root, placer: ObjectPlacer, name: string): Promise<void> {
  const snap = cat.getSnapshot(name)!;
  const stage = path.join(staged.layout.staging, name);
  await fsp.mkdir(stage, { mode: 0o700 });
  const counts = { name, path: stage, files: 0, dirs: 0, symlinks: 0, bytes: 0, linked: 0, copied: 0 };
  const link = async (key: ObjectKey, _size: number, dest: Buffer) => {
    await placer.link(key, dest);
    return 'linked' as const;
  };
  await buildSnapshot(cat, snap, Buffer.from(stage), link, staged.asRoot, counts);
}
