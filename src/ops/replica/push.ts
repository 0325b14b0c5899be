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
 *
 * An encrypted replica (--encrypt on the first push; docs/replicas.md) is opened with its key
 * before anything else happens, so a wrong passphrase writes nothing anywhere. Its blobs, catalog
 * and HEAD go through the replica's codec (sealed, blobs under keyed names); the order is the
 * same. A first encrypted push writes its wrapped key before any blob.
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
  wrappedKeyKey,
  REPLICA_FORMAT,
  REPLICA_VERSION,
  type CatalogRef,
  type ReplicaHead,
} from '../../replica/layout.js';
import { EncryptedCodec, plainCodec, type ReplicaCodec, type Sealing } from '../../replica/codec.js';
import { headOf, inspectReplica, unlock, type SecretProvider } from '../../replica/open-replica.js';
import { newMasterKey, wrapMasterKey } from '../../replica/keys.js';
import { rememberHead, rollbackProblem } from '../../replica/rollback-guard.js';
import { bucketFor } from '../../replica/throttle.js';
import { AuthFailure } from '../../replica/sealed-stream.js';
import { forEachConcurrently } from '../../util/limit.js';
import { SnapError, errnoCode, isSnapError, wrapFsError } from '../../errors.js';
import { faultPoint } from '../../util/fault.js';

import { DEFAULT_CONCURRENCY, type TransferProgress } from '../../replica/defaults.js';
import { listRemoteBlobs, readHeadObject } from '../../replica/listing.js';

export interface PushOptions {
  endpoint?: string;
  concurrency?: number;
  /** How long to wait for another run's lock (ms) while the catalog is copied. */
  waitMs?: number;
  onProgress?: (p: TransferProgress) => void;
  /** Make a new replica encrypted; required (and checked) for a replica that already is. */
  encrypt?: boolean;
  /** Asked for the passphrase or key file only when the replica is encrypted. */
  secret?: SecretProvider;
  /** KiB/s for all uploads (and downloads) of this push together. */
  limitUploadKiB?: number;
  limitDownloadKiB?: number;
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
  encrypted: boolean;
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
  const client = new ReplicaClient(r, { endpoint: opts.endpoint, uploadLimit: bucketFor(opts.limitUploadKiB), downloadLimit: bucketFor(opts.limitDownloadKiB) });
  let tmp: string | undefined;
  try {
    await client.checkBucket();
    const target = await openForPush(client, r, opts);
    let { codec } = target;
    const { before } = target;
    // Outside .snap/tmp, which the next locked run empties while this push may still read it.
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'linksnap-push-'));
    const { file, layout } = await copyCatalog(rootArg, opts.waitMs, tmp).catch((e) => {
      throw wrapFsError(e, 'copying the catalog');
    });
    scrubCopyForReplica(file);
    if (target.newKey) codec = await createKey(client, r, target.newKey);

    const copy = Catalog.open(file, { readonly: true });
    let contents;
    let snapshots: string[];
    try {
      contents = distinctContents(copy);
      snapshots = copy.listSnapshots().filter((s) => s.state === 'complete').map((s) => s.name);
      const named = contents.map((c) => ({ ...c, name: codec.blobName(c.hex) }));
      const remote = await listRemoteBlobs(client, r);
      const missing = named.filter((c) => remote.get(c.name) !== codec.storedSize(c.size));
      const progress: TransferProgress = {
        phase: 'upload',
        doneBlobs: 0,
        totalBlobs: missing.length,
        doneBytes: 0,
        totalBytes: missing.reduce((s, c) => s + c.size, 0),
      };
      opts.onProgress?.(progress);
      await forEachConcurrently(missing, concurrency, async (c) => {
        const onBytes = (n: number) => {
          progress.doneBytes += n;
          opts.onProgress?.(progress);
        };
        await uploadBlob(client, copy, layout, c.hex, blobKey(r, c.name), onBytes, codec.sealBlob(c.name));
        progress.doneBlobs++;
        opts.onProgress?.(progress);
        faultPoint('push:blob-uploaded');
      });

      const generation = newGeneration();
      const catKey = catalogKey(r, generation);
      const cat = await client.putFile(catKey, file, undefined, undefined, codec.sealCatalog(generation));
      faultPoint('push:catalog-uploaded');
      const ref: CatalogRef = { generation, key: catKey, blake3: cat.blake3, size: cat.size };

      // One writer per replica: if another push moved HEAD while we uploaded, do not overwrite
      // its generation (its gc could already have deleted blobs we skipped as present).
      const now = await currentHead(client, r, codec);
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
        ...(codec.encrypted ? { sequence: (before?.sequence ?? 0) + 1 } : {}),
      };
      await client.putBuffer(headKey(r), codec.encodeHead(head), 'application/json');
      if (codec.stateId) rememberHead(codec.stateId, head);
      faultPoint('push:head-written');

      const keep = new Set(named.map((c) => c.name));
      const deleted = await collectRemoteGarbage(client, r, codec, remote, keep, before, head, tmp);
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
        encrypted: codec.encrypted,
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      };
    } finally {
      copy.close();
    }
  } finally {
    client.close();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  }
}

interface PushTarget {
  codec: ReplicaCodec;
  before: ReplicaHead | undefined;
  /** A first encrypted push: the secret for the key it creates (once the catalog is copied). */
  newKey?: Parameters<typeof wrapMasterKey>[1];
}

/**
 * The replica's kind decides, not the flag: --encrypt must match it. An existing encrypted
 * replica is unlocked (and its HEAD checked against rollback) before anything is written.
 */
async function openForPush(client: ReplicaClient, r: ReplicaUrl, opts: PushOptions): Promise<PushTarget> {
  const kind = await inspectReplica(client, r);
  if (kind.encrypted && !opts.encrypt) {
    throw new SnapError('USAGE', `${r.url} is an encrypted replica: push to it with --encrypt (and its passphrase or key file)`);
  }
  if (!kind.encrypted) {
    const before = kind.headObject?.kind === 'plain' ? kind.headObject.head : undefined;
    if (opts.encrypt && before) {
      throw new SnapError('USAGE', `${r.url} is a plain (unencrypted) replica: --encrypt applies to a new replica only`, {
        hint: 'push with --encrypt to a new prefix, then delete the plain one',
      });
    }
    if (!opts.encrypt) return { codec: plainCodec, before };
    if (!opts.secret) throw new SnapError('BAD_KEY', `--encrypt needs a passphrase or key file for ${r.url}`);
    return { codec: plainCodec, before: undefined, newKey: await opts.secret({ url: r.url, confirm: true }) };
  }
  if (!opts.secret) throw new SnapError('BAD_KEY', `${r.url} is encrypted and no passphrase or key file was given`);
  const { master } = await unlock(kind, await opts.secret({ url: r.url, confirm: false }), r.url);
  const codec = new EncryptedCodec(master);
  const before = await headOf(kind, codec, r);
  const replayed = before && rollbackProblem(codec.stateId, before, r.url);
  if (replayed) throw new SnapError('CATALOG', replayed, { hint: 'the bucket was tampered with, or restored from an old copy: check it before pushing' });
  return { codec, before };
}

/** A first encrypted push: a new master key, stored only wrapped by the user's secret. */
async function createKey(client: ReplicaClient, r: ReplicaUrl, secret: NonNullable<PushTarget['newKey']>): Promise<EncryptedCodec> {
  const master = newMasterKey();
  const wrapped = await wrapMasterKey(master, secret);
  await client.putBuffer(wrappedKeyKey(r, wrapped.id), Buffer.from(JSON.stringify(wrapped, null, 2) + '\n'), 'application/json');
  return new EncryptedCodec(master);
}

/** HEAD as it is now (another push may have moved it), opened with the codec. */
async function currentHead(client: ReplicaClient, r: ReplicaUrl, codec: ReplicaCodec): Promise<ReplicaHead | undefined> {
  const o = await readHeadObject(client, r);
  if (!o) return undefined;
  if (o.kind === 'plain') return o.head;
  if (!(codec instanceof EncryptedCodec)) throw new SnapError('USAGE', `${r.url} became an encrypted replica while this push ran`);
  return codec.openHead(o.sealed, `${r.url}/HEAD`);
}

/**
 * Upload one content from any of its local (content, metadata) objects. Blobs are immutable,
 * but a prune/gc running meanwhile (we do not hold the lock) may delete an object: then try the
 * next variant, and if none is left, ask for a rerun. A local object that does not hash to its
 * name is never uploaded.
 */
async function uploadBlob(
  client: ReplicaClient,
  copy: Catalog,
  layout: StoreLayout,
  hex: string,
  key: string,
  onBytes: (n: number) => void,
  sealing: Sealing | undefined,
): Promise<void> {
  const hash = Buffer.from(hex, 'hex');
  let damaged: HashMismatch | undefined;
  for (const v of variantsOf(copy, hash)) {
    const p = objectPath(layout, { hash, ...v });
    try {
      await client.putFile(key, p, hex, onBytes, sealing);
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
  codec: ReplicaCodec,
  remote: Map<string, number>,
  keep: Set<string>,
  before: ReplicaHead | undefined,
  head: ReplicaHead,
  tmp: string,
): Promise<{ blobs: number; catalogs: number }> {
  let doomed = [...remote.keys()].filter((name) => !keep.has(name));
  if (doomed.length > 0 && before) {
    const prev = await loadRemoteCatalog(client, codec, before, path.join(tmp, 'previous.db'));
    if (!prev) {
      doomed = []; // cannot tell what the previous generation needs: delete nothing this time
    } else {
      try {
        const prevSet = new Set(distinctContents(prev).map((c) => codec.blobName(c.hex)));
        doomed = doomed.filter((name) => !prevSet.has(name));
      } finally {
        prev.close();
      }
    }
  }
  await client.deleteKeys(doomed.map((name) => blobKey(r, name)));
  if (doomed.length) faultPoint('push:blobs-deleted');

  const keepCatalogs = new Set([head.key, ...(before ? [before.key] : [])]);
  const oldCatalogs: string[] = [];
  for await (const o of client.list(catalogsPrefix(r))) if (!keepCatalogs.has(o.key)) oldCatalogs.push(o.key);
  await client.deleteKeys(oldCatalogs);
  return { blobs: doomed.length, catalogs: oldCatalogs.length };
}

/** Download a generation's catalog to `file` and open it, or undefined if it is gone or damaged. */
async function loadRemoteCatalog(client: ReplicaClient, codec: ReplicaCodec, ref: CatalogRef, file: string): Promise<Catalog | undefined> {
  if (!(await client.headObject(ref.key))) return undefined;
  let got;
  try {
    got = await client.getFile(ref.key, file, undefined, codec.openCatalog(ref.generation, `catalog ${ref.key}`));
  } catch (e) {
    if (e instanceof AuthFailure) return undefined; // damaged: treated as gone
    throw e;
  }
  if (got.blake3 !== ref.blake3) return undefined;
  try {
    return Catalog.open(file, { readonly: true });
  } catch (e) {
    if (isSnapError(e) && e.code === 'CATALOG') return undefined; // damaged: treated as gone
    throw e;
  }
}
