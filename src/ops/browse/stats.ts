/**
 * `snap stats <root>`: what each snapshot costs and what the store holds.
 *
 * Per snapshot: files, folders, logical bytes (what `du --apparent-size` of a full copy would
 * say), bytes and objects it added to the store when taken, and the objects only it references
 * — exactly what pruning it alone (and running gc) would free. For the store: objects (inodes,
 * with link-limit replicas), distinct contents, stored bytes, the logical bytes of all snapshots
 * together and the dedup ratio between them; with `disk`, the blocks the object files really
 * occupy (sparse files, reflinks), which needs an lstat of every object.
 *
 * From the catalog; read-only, no lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openRoot } from '../shared/root.js';
import { SHARED, exclusiveUsage, storeTotals, treeEdges } from '../../catalog/history-queries.js';
import type { Catalog, SnapshotRow } from '../../catalog/catalog.js';
import { listDir, lstatOrUndefined } from '../../util/fs.js';
import { unsafeTreeError } from '../shared/snapshot-tree.js';

export interface SnapshotStats {
  name: string;
  takenAt: string;
  pinned: boolean;
  files: number;
  dirs: number;
  /** Logical bytes of its files. */
  bytes: number;
  /** What this take added to the store when it ran (objects and their bytes). */
  addedObjects: number;
  addedBytes: number;
  /** Objects no other snapshot references, and their stored bytes: what pruning it alone frees. */
  exclusiveObjects: number;
  exclusiveBytes: number;
}

export interface StoreStats {
  /** Object inodes in the catalog (one per content + metadata), and files counting replicas. */
  objects: number;
  objectFiles: number;
  /** Distinct contents (BLAKE3 hashes). */
  contents: number;
  /** Bytes of all object files (each replica counted; no sparse/reflink savings). */
  storedBytes: number;
  /** Bytes of the distinct contents. */
  contentBytes: number;
  /** Logical bytes of all snapshots together: what full copies would take. */
  logicalBytes: number;
  /** logicalBytes / storedBytes (1 when empty). */
  dedupRatio: number;
  /** Objects referenced by two or more snapshots, and their bytes. */
  sharedObjects: number;
  sharedBytes: number;
  /** Size of catalog.db and its WAL. */
  catalogBytes: number;
  /** Only with `disk`: blocks the object files occupy on disk (st_blocks × 512). */
  diskBytes?: number;
}

export interface StatsResult {
  snapshots: SnapshotStats[];
  store: StoreStats;
}

/**
 * Every reachable tree → the one snapshot that reaches it, or SHARED. Linear in trees + folder
 * edges: a tree is claimed once by its first snapshot and turns SHARED at most once. The claim
 * is a depth-first walk with an explicit stack that knows which trees are open (on the path
 * from the top): meeting one of them again is a cycle, which only a damaged or tampered catalog
 * has, and ends stats with UNSAFE_PATH like every other walk of the trees. Any cycle is met
 * this way by the first snapshot that reaches it.
 */
function treeOwners(catalog: Catalog, snaps: readonly SnapshotRow[]): Map<number, number> {
  const edges = treeEdges(catalog);
  const owner = new Map<number, number>();
  const markShared = (start: number) => {
    const stack = [start];
    while (stack.length) {
      const t = stack.pop()!;
      if (owner.get(t) === SHARED) continue;
      owner.set(t, SHARED);
      for (const c of edges.get(t) ?? []) stack.push(c);
    }
  };
  for (const s of snaps) {
    const open = new Set<number>();
    // A negative entry closes tree -t-1 (all of its subtrees are done).
    const stack = [s.rootTree];
    while (stack.length) {
      const t = stack.pop()!;
      if (t < 0) {
        open.delete(-t - 1);
        continue;
      }
      if (open.has(t)) throw unsafeTreeError(s.name, `form a cycle (tree ${t})`);
      const o = owner.get(t);
      if (o === undefined) {
        owner.set(t, s.id);
        open.add(t);
        stack.push(-t - 1);
        for (const c of edges.get(t) ?? []) stack.push(c);
      } else if (o !== s.id && o !== SHARED) markShared(t);
    }
  }
  return owner;
}

async function diskUsage(objectsDir: string): Promise<number> {
  let total = 0;
  const seen = new Set<bigint>();
  for (const fan of listDir(objectsDir)) {
    const dir = path.join(objectsDir, fan);
    for (const name of listDir(dir)) {
      const st = lstatOrUndefined(path.join(dir, name));
      if (!st?.isFile() || seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += Number(st.blocks) * 512;
    }
  }
  return total;
}

function fileSize(p: string): number {
  return fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0;
}

export async function stats(rootArg: string, opts: { disk?: boolean } = {}): Promise<StatsResult> {
  const root = openRoot(rootArg, { readonly: true });
  try {
    const { catalog, layout } = root;
    const snaps = catalog.listSnapshots().filter((s) => s.state === 'complete');
    const usage = exclusiveUsage(catalog, treeOwners(catalog, snaps));
    const totals = storeTotals(catalog);
    const logicalBytes = snaps.reduce((n, s) => n + s.bytes, 0);
    const store: StoreStats = {
      objects: totals.objects,
      objectFiles: totals.replicas,
      contents: totals.contents,
      storedBytes: totals.bytes,
      contentBytes: totals.contentBytes,
      logicalBytes,
      dedupRatio: totals.bytes > 0 ? Math.round((logicalBytes / totals.bytes) * 100) / 100 : 1,
      sharedObjects: usage.shared.objects,
      sharedBytes: usage.shared.bytes,
      catalogBytes: fileSize(layout.catalog) + fileSize(layout.catalog + '-wal'),
    };
    if (opts.disk) store.diskBytes = await diskUsage(layout.objects);
    return {
      snapshots: snaps.map((s) => {
        const ex = usage.bySnapshot.get(s.id) ?? { objects: 0, bytes: 0 };
        return {
          name: s.name,
          takenAt: new Date(Number(s.takenNs / 1_000_000n)).toISOString(),
          pinned: s.pinned,
          files: s.files,
          dirs: s.dirs,
          bytes: s.bytes,
          addedObjects: s.newObjects,
          addedBytes: s.newBytes,
          exclusiveObjects: ex.objects,
          exclusiveBytes: ex.bytes,
        };
      }),
      store,
    };
  } finally {
    root.close();
  }
}
