/**
 * `snap push <root> s3://bucket/prefix`: bring an offsite replica up to date.
 *
 * Order of events (docs/replicas.md, "Consistency"):
 *   1. lock the root, recover, copy the catalog with VACUUM INTO (a consistent state), unlock;
 *   2. list the blobs the replica has; upload the missing ones concurrently (each hashed on the
 *      way and checked against its BLAKE3 name; wire checksums verified by the server);
 *   3. upload the catalog copy under a new generation name;
 *   4. write <prefix>/HEAD pointing at it: from this instant the replica is the new state;
 *   5. delete blobs neither the new nor the previous generation references, and older catalogs.
 * A push killed before 4 leaves the previous generation intact (plus some uploaded blobs, which
 * the next push finds and skips: it resumes). The previous generation's blobs survive step 5, so
 * a pull that read the old HEAD just before step 4 can still finish.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openRoot, lockRoot } from '../shared/root.js';
import { recover } from '../shared/recover.js';
import { Catalog } from '../../catalog/catalog.js';
import { vacuumInto, scrubCopyForReplica, distinctContents, variantsOf } from '../../catalog/replica-queries.js';
import { objectPath, type StoreLayout } from '../../store/layout.js';
import { ReplicaClient, HashMismatch } from '../../replica/client.js';
import { parseReplicaUrl, type ReplicaUrl } from '../../replica/url.js';
import {
  blobKey,
  catalogKey,
  catalogsPrefix,
  headKey,
  newGeneration,
  REPLICA_FORMAT,
  REPLICA_VERSION,
  type CatalogRef,
  type ReplicaHead,
} from '../../replica/layout.js';
import { Limiter, allSettledOrThrow } from '../../util/limit.js';
import { SnapError, errnoCode, isSnapError, wrapFsError } from '../../errors.js';
import { faultPoint } from '../../util/fault.js';

import { DEFAULT_CONCURRENCY, type TransferProgress } from '../../replica/defaults.js';
import { listRemoteBlobs, readHead } from '../../replica/listing.js';

export interface PushOptions {
  endpoint?: string;
  concurrency?: number;
  /** How long to wait for another run's lock (ms) while the catalog is copied. */
  waitMs?: number;
  onProgress?: (p: TransferProgress) => void;
}

export interface PushResult {
  url: string;
  generation: string;
  previousGeneration: string | null;
  snapshots: string[];
  blobs: number;
  blobBytes: number;
  uploadedBlobs: number;
  uploadedBytes: number;
  skippedBlobs: number;
  catalogBytes: number;
  deletedBlobs: number;
  deletedCatalogs: number;
  seconds: number;
}

/** The catalog copy, made under the root's lock in a private temp folder. */
async function copyCatalog(rootArg: string, waitMs: number | undefined, dir: string): Promise<{ file: string; layout: StoreLayout }> {
  const root = openRoot(rootArg);
  let lock;
  try {
    lock = lockRoot(root, 'push', waitMs);
    await recover(root); // no half-pruned snapshot ('deleting') may reach the replica
    const file = path.join(dir, 'catalog.db');
    vacuumInto(root.catalog, file);
    return { file, layout: root.layout };
  } finally {
    lock?.release();
    root.close();
  }
}

export async function push(rootArg: string, urlArg: string, opts: PushOptions = {}): Promise<PushResult> {
  const t0 = process.hrtime.bigint();
  const r = parseReplicaUrl(urlArg);
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SnapError('USAGE', `--concurrency must be a positive integer, got ${concurrency}`);
  const client = new ReplicaClient(r, { endpoint: opts.endpoint });
  // Outside .snap/tmp, which the next locked run empties while this push may still read it.
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'linksnap-push-'));
  try {
    await client.checkBucket();
    const { file, layout } = await copyCatalog(rootArg, opts.waitMs, tmp).catch((e) => {
      throw wrapFsError(e, 'copying the catalog');
    });
    scrubCopyForReplica(file);
    const before = await readHead(client, r);

    const copy = Catalog.open(file, { readonly: true });
    let contents;
    let snapshots: string[];
    try {
      contents = distinctContents(copy);
      snapshots = copy.listSnapshots().filter((s) => s.state === 'complete').map((s) => s.name);
      const remote = await listRemoteBlobs(client, r);
      const missing = contents.filter((c) => remote.get(c.hex) !== c.size);
      const progress: TransferProgress = {
        phase: 'upload',
        doneBlobs: 0,
        totalBlobs: missing.length,
        doneBytes: 0,
        totalBytes: missing.reduce((s, c) => s + c.size, 0),
      };
      opts.onProgress?.(progress);
      const limiter = new Limiter(concurrency);
      await allSettledOrThrow(missing, (c) =>
        limiter.run(async () => {
          await uploadBlob(client, r, copy, layout, c.hex, (n) => {
            progress.doneBytes += n;
            opts.onProgress?.(progress);
          });
          progress.doneBlobs++;
          opts.onProgress?.(progress);
          faultPoint('push:blob-uploaded');
        }),
      );

      const generation = newGeneration();
      const catKey = catalogKey(r, generation);
      const cat = await client.putFile(catKey, file, undefined);
      faultPoint('push:catalog-uploaded');
      const ref: CatalogRef = { generation, key: catKey, blake3: cat.blake3, size: cat.size };

      // One writer per replica: if another push moved HEAD while we uploaded, do not overwrite
      // its generation (its gc could already have deleted blobs we skipped as present).
      const now = await readHead(client, r);
      if ((now?.generation ?? null) !== (before?.generation ?? null)) {
        throw new SnapError('LOCKED', `another push updated ${r.url} while this one ran (generation ${now?.generation ?? 'none'})`, {
          hint: 'run one push per replica at a time; run this push again (uploaded blobs are kept)',
        });
      }
      const head: ReplicaHead = {
        format: REPLICA_FORMAT,
        version: REPLICA_VERSION,
        ...ref,
        pushedAt: new Date().toISOString(),
        snapshots,
        blobs: contents.length,
        blobBytes: contents.reduce((s, c) => s + c.size, 0),
        ...(before ? { previous: { generation: before.generation, key: before.key, blake3: before.blake3, size: before.size } } : {}),
      };
      await client.putBuffer(headKey(r), Buffer.from(JSON.stringify(head, null, 2) + '\n'), 'application/json');
      faultPoint('push:head-written');

      const keep = new Set(contents.map((c) => c.hex));
      const deleted = await collectRemoteGarbage(client, r, remote, keep, before, head, tmp);
      return {
        url: r.url,
        generation,
        previousGeneration: before?.generation ?? null,
        snapshots,
        blobs: contents.length,
        blobBytes: head.blobBytes,
        uploadedBlobs: missing.length,
        uploadedBytes: progress.totalBytes,
        skippedBlobs: contents.length - missing.length,
        catalogBytes: cat.size,
        deletedBlobs: deleted.blobs,
        deletedCatalogs: deleted.catalogs,
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      };
    } finally {
      copy.close();
    }
  } finally {
    client.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Upload one content from any of its local (content, metadata) objects. Blobs are immutable,
 * but a prune/gc running meanwhile (we do not hold the lock) may delete an object: then try the
 * next variant, and if none is left, ask for a rerun. A local object that does not hash to its
 * name is never uploaded.
 */
async function uploadBlob(client: ReplicaClient, r: ReplicaUrl, copy: Catalog, layout: StoreLayout, hex: string, onBytes: (n: number) => void): Promise<void> {
  const hash = Buffer.from(hex, 'hex');
  let damaged: HashMismatch | undefined;
  for (const v of variantsOf(copy, hash)) {
    const p = objectPath(layout, { hash, ...v });
    try {
      await client.putFile(blobKey(r, hex), p, hex, onBytes);
      return;
    } catch (e) {
      if (e instanceof HashMismatch) {
        damaged = e;
        continue;
      }
      if (errnoCode(e) === 'ENOENT') continue;
      throw wrapFsError(e, `reading ${p}`);
    }
  }
  if (damaged) throw damaged;
  throw new SnapError('IO', `no local object holds content ${hex.slice(0, 16)}… any more (pruned while pushing?)`, {
    hint: 'run the push again; blobs already uploaded are skipped',
  });
}

/**
 * Remote gc, after the new HEAD is written: delete blobs that neither the new generation nor the
 * previous one references (a pull that started just before the switch still finds its blobs),
 * and every catalog but those two. A blob left by an interrupted push that nothing references is
 * deleted here too.
 */
async function collectRemoteGarbage(
  client: ReplicaClient,
  r: ReplicaUrl,
  remote: Map<string, number>,
  keep: Set<string>,
  before: ReplicaHead | undefined,
  head: ReplicaHead,
  tmp: string,
): Promise<{ blobs: number; catalogs: number }> {
  let doomed = [...remote.keys()].filter((hex) => !keep.has(hex));
  if (doomed.length > 0 && before) {
    const prev = await loadRemoteCatalog(client, before, path.join(tmp, 'previous.db'));
    if (!prev) {
      doomed = []; // cannot tell what the previous generation needs: delete nothing this time
    } else {
      try {
        const prevSet = new Set(distinctContents(prev).map((c) => c.hex));
        doomed = doomed.filter((hex) => !prevSet.has(hex));
      } finally {
        prev.close();
      }
    }
  }
  await client.deleteKeys(doomed.map((hex) => blobKey(r, hex)));
  if (doomed.length) faultPoint('push:blobs-deleted');

  const keepCatalogs = new Set([head.key, ...(before ? [before.key] : [])]);
  const oldCatalogs: string[] = [];
  for await (const o of client.list(catalogsPrefix(r))) if (!keepCatalogs.has(o.key)) oldCatalogs.push(o.key);
  await client.deleteKeys(oldCatalogs);
  return { blobs: doomed.length, catalogs: oldCatalogs.length };
}

/** Download a generation's catalog to `file` and open it, or undefined if it is gone or damaged. */
async function loadRemoteCatalog(client: ReplicaClient, ref: CatalogRef, file: string): Promise<Catalog | undefined> {
  if (!(await client.headObject(ref.key))) return undefined;
  const got = await client.getFile(ref.key, file);
  if (got.blake3 !== ref.blake3) return undefined;
  try {
    return Catalog.open(file, { readonly: true });
  } catch (e) {
    if (isSnapError(e) && e.code === 'CATALOG') return undefined; // damaged: treated as gone
    throw e;
  }
}
