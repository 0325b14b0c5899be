/**
 * Verifying an offsite replica without downloading it all (`snap verify s3://…`):
 *   - HEAD is readable and names a catalog; the catalog's BLAKE3 matches HEAD; SQLite's
 *     integrity check passes; every file of every snapshot has its (content, metadata) row;
 *   - every content the catalog references exists as a blob with the right size (List: one
 *     request per 1000 blobs);
 *   - with samplePercent, that share of the blobs (at least one) is downloaded and re-hashed.
 * Finding kinds are those of local verify (src/ops/verify/types.ts), so scripts match one set.
 * Damaged contents are traced to the snapshots and paths that use them.
 *
 * An encrypted replica is opened with its key (a wrong one is exit 2, not a finding); its HEAD
 * is checked against the newest this machine has seen (`replica-rollback`), its catalog and each
 * sampled blob are authenticated as they are downloaded (a failure is `catalog-integrity` or
 * `object-content`), and sizes are compared with the sealed sizes.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Catalog } from '../../catalog/catalog.js';
import { catalogFileProblems, distinctContents, filesWithoutObject, treesContainingContent } from '../../catalog/replica-queries.js';
import { Kind } from '../../model/entry.js';
import { ReplicaClient } from '../../replica/client.js';
import { blobKey, type ReplicaHead } from '../../replica/layout.js';
import { parseReplicaUrl } from '../../replica/url.js';
import { DEFAULT_CONCURRENCY, type TransferProgress } from '../../replica/defaults.js';
import { listRemoteBlobs } from '../../replica/listing.js';
import { openReplica, type SecretProvider } from '../../replica/open-replica.js';
import type { ReplicaCodec } from '../../replica/codec.js';
import { AuthFailure } from '../../replica/sealed-stream.js';
import { rememberHead, rollbackProblem } from '../../replica/rollback-guard.js';
import { MAX_PATHS_PER_FINDING } from '../verify/types.js';
import { Limiter, allSettledOrThrow } from '../../util/limit.js';
import { assertSafeName, joinPath, showName } from '../../util/paths.js';
import { SnapError, isSnapError } from '../../errors.js';
import { catalogInvariantProblems } from '../../catalog/invariants.js';
import { HASH_BYTES } from '../../store/hasher.js';
import { MAX_TREE_DEPTH, TreeGuard } from '../shared/snapshot-tree.js';

export interface ReplicaFinding {
  kind: string;
  severity: 'damage' | 'info';
  message: string;
  snapshots: string[];
  paths: string[];
  morePaths?: number;
  /** The blob's key in the bucket, for blob findings. */
  object?: string;
}

export interface ReplicaVerifyOptions {
  /** Download and re-hash this share (0-100] of the blobs. */
  samplePercent?: number;
  endpoint?: string;
  concurrency?: number;
  onProgress?: (p: TransferProgress) => void;
  /** Asked for the passphrase or key file only when the replica is encrypted. */
  secret?: SecretProvider;
}

export interface ReplicaVerifyReport {
  url: string;
  generation: string | null;
  snapshots: string[];
  findings: ReplicaFinding[];
  damaged: boolean;
  counts: { blobs: number; blobBytes: number; blobsHashed: number; bytesHashed: number; damage: number; info: number };
  seconds: number;
}

export async function verifyReplica(url: string, opts: ReplicaVerifyOptions = {}): Promise<ReplicaVerifyReport> {
  const t0 = process.hrtime.bigint();
  const r = parseReplicaUrl(url);
  const pct = opts.samplePercent ?? 0;
  if (!(pct >= 0 && pct <= 100)) throw new SnapError('USAGE', `--sample must be a percentage in (0, 100], got ${pct}`);
  const client = new ReplicaClient(r, { endpoint: opts.endpoint });
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'linksnap-verify-'));
  const findings: ReplicaFinding[] = [];
  const counts = { blobs: 0, blobBytes: 0, blobsHashed: 0, bytesHashed: 0, damage: 0, info: 0 };
  const report = (): ReplicaVerifyReport => {
    counts.damage = findings.filter((f) => f.severity === 'damage').length;
    counts.info = findings.length - counts.damage;
    return { url: r.url, generation: head?.generation ?? null, snapshots, findings, damaged: counts.damage > 0, counts, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  };
  let head: ReplicaHead | undefined;
  let codec: ReplicaCodec;
  let snapshots: string[] = [];
  try {
    await client.checkBucket();
    try {
      ({ head, codec } = await openReplica(client, r, opts.secret));
    } catch (e) {
      if (!isSnapError(e) || e.code !== 'CATALOG') throw e;
      findings.push({ kind: 'catalog-integrity', severity: 'damage', message: e.message, snapshots: [], paths: ['HEAD'] });
      return report();
    }
    if (!head) throw new SnapError('NOT_A_STORE', `no linksnap replica at ${r.url} (no HEAD)`, { hint: `push to it first: snap push <root> ${r.url}` });

    const replayed = codec.stateId && rollbackProblem(codec.stateId, head, r.url);
    if (replayed) {
      findings.push({ kind: 'replica-rollback', severity: 'damage', message: replayed, snapshots: head.snapshots, paths: ['HEAD', head.key] });
      return report();
    }

    const catFile = path.join(tmp, 'catalog.db');
    if (!(await client.headObject(head.key))) {
      findings.push({ kind: 'catalog-integrity', severity: 'damage', message: `the catalog ${head.key} named by HEAD is missing`, snapshots: head.snapshots, paths: [head.key] });
      return report();
    }
    let got;
    try {
      got = await client.getFile(head.key, catFile, undefined, codec.openCatalog(head.generation, `the catalog ${head.key}`));
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      findings.push({ kind: 'catalog-integrity', severity: 'damage', message: e.message, snapshots: head.snapshots, paths: [head.key] });
      return report();
    }
    if (got.blake3 !== head.blake3) {
      findings.push({ kind: 'catalog-integrity', severity: 'damage', message: `the catalog ${head.key} does not match the BLAKE3 recorded in HEAD`, snapshots: head.snapshots, paths: [head.key] });
      return report();
    }
    const problems = catalogFileProblems(catFile);
    if (problems.length) {
      findings.push({ kind: 'catalog-integrity', severity: 'damage', message: `the catalog ${head.key} is damaged: ${problems.slice(0, 3).join('; ')}`, snapshots: head.snapshots, paths: [head.key] });
      return report();
    }

    const cat = Catalog.open(catFile, { readonly: true });
    try {
      snapshots = cat.listSnapshots().filter((s) => s.state === 'complete').map((s) => s.name);
      // The replica is untrusted input: the same invariants pull refuses a catalog for.
      const invariants = catalogInvariantProblems(cat, { sqlite: 'none', hashBytes: HASH_BYTES, maxTreeDepth: MAX_TREE_DEPTH });
      for (const p of invariants) findings.push({ kind: 'catalog-invariant', severity: 'damage', message: p.message, snapshots: p.snapshots, paths: [] });
      if (invariants.length > 0) return report(); // its trees cannot be walked safely
      const orphans = filesWithoutObject(cat);
      if (orphans > 0) {
        findings.push({ kind: 'catalog-invariant', severity: 'damage', message: `${orphans} file entries have no object row: pull could not place them`, snapshots, paths: [] });
      }
      const contents = distinctContents(cat).map((c) => ({ ...c, name: codec.blobName(c.hex) }));
      counts.blobs = contents.length;
      counts.blobBytes = contents.reduce((s, c) => s + c.size, 0);
      const remote = await listRemoteBlobs(client, r);
      const bad = new Map<string, { kind: string; message: string }>();
      for (const c of contents) {
        const size = remote.get(c.name);
        const want = codec.storedSize(c.size);
        if (size === undefined) bad.set(c.hex, { kind: 'object-missing', message: `blob ${c.name} is missing` });
        else if (size !== want) bad.set(c.hex, { kind: 'object-size', message: `blob ${c.name} has ${size} bytes, expected ${want}` });
      }

      const candidates = contents.filter((c) => !bad.has(c.hex));
      const sample = pct > 0 ? pickSample(candidates, pct) : [];
      const progress: TransferProgress = { phase: 'verify', doneBlobs: 0, totalBlobs: sample.length, doneBytes: 0, totalBytes: sample.reduce((s, c) => s + c.size, 0) };
      const limiter = new Limiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
      await allSettledOrThrow(sample, (c, i) =>
        limiter.run(async () => {
          const file = path.join(tmp, `blob-${i}`);
          const key = blobKey(r, c.name);
          const onBytes = (n: number) => {
            progress.doneBytes += n;
            opts.onProgress?.(progress);
          };
          let h;
          try {
            h = await client.getFile(key, file, onBytes, codec.openBlob(c.name, `blob ${c.name}`));
          } catch (e) {
            if (!(e instanceof AuthFailure)) throw e;
            bad.set(c.hex, { kind: 'object-content', message: e.message });
            return;
          } finally {
            await fsp.rm(file, { force: true });
            counts.blobsHashed++;
            progress.doneBlobs++;
            opts.onProgress?.(progress);
          }
          counts.bytesHashed += h.size;
          if (h.blake3 !== c.hex) bad.set(c.hex, { kind: 'object-content', message: `blob ${c.name} does not hash to its content's BLAKE3 (got ${h.blake3.slice(0, 16)}…)` });
          else if (h.size !== c.size) bad.set(c.hex, { kind: 'object-size', message: `blob ${c.name} has ${h.size} bytes, expected ${c.size}` });
        }),
      );

      findings.push(...traceDamage(cat, codec, bad, r));
      if (codec.stateId) rememberHead(codec.stateId, head);
      const referenced = new Set(contents.map((c) => c.name));
      const extra = [...remote.keys()].filter((hex) => !referenced.has(hex));
      if (extra.length > 0) {
        findings.push({
          kind: 'unreferenced-object',
          severity: 'info',
          message: `${extra.length} blobs are not referenced by the current generation (kept for the previous one, or left by an interrupted push; the next push deletes what no generation needs)`,
          snapshots: [],
          paths: [],
        });
      }
    } finally {
      cat.close();
    }
    return report();
  } finally {
    client.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

function pickSample<T>(items: readonly T[], pct: number): T[] {
  if (items.length === 0) return [];
  const n = Math.min(items.length, Math.max(1, Math.ceil((items.length * pct) / 100)));
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/** One finding per damaged blob, naming every snapshot and path that uses its content. */
function traceDamage(cat: Catalog, codec: ReplicaCodec, bad: Map<string, { kind: string; message: string }>, r: ReturnType<typeof parseReplicaUrl>): ReplicaFinding[] {
  if (bad.size === 0) return [];
  const hashes = [...bad.keys()].map((hex) => Buffer.from(hex, 'hex'));
  const affected = treesContainingContent(cat, hashes);
  const uses = new Map<string, { snapshots: Set<string>; paths: string[]; more: number }>();
  for (const hex of bad.keys()) uses.set(hex, { snapshots: new Set(), paths: [], more: 0 });
  const visit = (snapshot: string, guard: TreeGuard, prefix: Buffer) => {
    for (const e of cat.treeEntries(guard.tree)) {
      assertSafeName(e.name, `tree ${guard.tree}`);
      const rel = joinPath(prefix, e.name);
      if (e.kind === Kind.File && e.hash) {
        const u = uses.get(e.hash.toString('hex'));
        if (u) {
          u.snapshots.add(snapshot);
          if (u.paths.length < MAX_PATHS_PER_FINDING) u.paths.push(showName(rel));
          else u.more++;
        }
      } else if (e.kind === Kind.Dir && e.subtree !== undefined && affected.has(e.subtree)) {
        visit(snapshot, guard.enter(e.subtree, rel), rel);
      }
    }
  };
  for (const s of cat.listSnapshots()) {
    if (affected.has(s.rootTree)) visit(s.name, TreeGuard.top(s.name, s.rootTree), Buffer.from(s.name));
  }
  return [...bad].map(([hex, b]) => {
    const u = uses.get(hex)!;
    return {
      kind: b.kind,
      severity: 'damage' as const,
      message: b.message,
      snapshots: [...u.snapshots],
      paths: u.paths,
      ...(u.more ? { morePaths: u.more } : {}),
      object: blobKey(r, codec.blobName(hex)),
    };
  });
}
