/**
 * The two things `snap diff` can compare, behind one listing interface: a snapshot (its catalog
 * trees) or `.latest` as it is now (the live folder, hashed only where the quick check cannot
 * vouch for a file's content). The records serve diff only as content hashes of files whose
 * stat fields still match, which holds whatever exclude rules they were written under.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Catalog } from '../../catalog/catalog.js';
import { knownHash, recordsByName } from '../../model/quick-check.js';
import { Kind, type EntryMeta } from '../../model/entry.js';
import { readSourceFile } from '../../store/blobfile.js';
import { joinPath } from '../../util/paths.js';
import { errnoCode } from '../../errors.js';
import type { Warnings } from '../shared/warnings.js';
import { TreeGuard } from '../shared/snapshot-tree.js';
import { NO_XATTRS, encodeXattrs, xattrDigestOf } from '../../model/xattrs.js';
import { readXattrs } from '../../store/xattrs.js';

const ourUid = process.geteuid?.() ?? -1;

export interface SideEntry extends EntryMeta {
  name: Buffer;
  kind: Kind;
  size: number;
  target?: Buffer;
  /** Files: the content hash, known (catalog, quick-check record) or computed on demand. */
  hash?: Buffer;
  getHash?: () => Promise<Buffer | undefined>;
  /** Folders: the catalog tree id and where the walk stands (snapshot side) ... */
  tree?: number;
  guard?: TreeGuard;
  /** ... or the absolute path (live side). */
  abs?: Buffer;
  /**
   * Files and folders: the digest of their extended attributes (empty: none); compared only
   * when both sides know it (the live side reads them only on roots that recorded some).
   */
  xattrs?: Buffer;
}

export interface Side {
  label: string;
  /** The children of a folder entry (or of the top when `dir` is undefined), in byte order. */
  list(dir: SideEntry | undefined, rel: Buffer): Promise<SideEntry[]>;
  /** Whether two folders are known identical without listing them (same Merkle tree). */
  readonly isSnapshot: boolean;
}

export function snapshotSide(catalog: Catalog, label: string, rootTree: number): Side {
  const top = TreeGuard.top(label, rootTree);
  return {
    label,
    isSnapshot: true,
    list: async (dir, rel) => {
      const guard = dir ? dir.guard : top;
      if (guard === undefined) return [];
      return catalog.treeEntries(guard.tree).map((e) => ({
        name: e.name,
        kind: e.kind,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtimeNs: e.mtimeNs,
        size: e.size,
        target: e.target,
        hash: e.hash,
        tree: e.subtree,
        ...(e.kind !== Kind.Symlink ? { xattrs: e.xattrs ?? NO_XATTRS } : {}),
        // A folder that would close a cycle (or lie absurdly deep) stops the diff: UNSAFE_PATH.
        guard: e.kind === Kind.Dir && e.subtree !== undefined ? guard.enter(e.subtree, joinPath(rel, e.name)) : undefined,
      }));
    },
  };
}

export interface LiveSideOptions {
  /** The catalog, for its quick-check records; undefined: hash everything compared. */
  catalog?: Catalog;
  exclude?: (rel: Buffer, isDir: boolean) => boolean;
  warnings: Warnings;
  /** Count of files actually read and hashed (for the summary). */
  counters: { hashedFiles: number; hashedBytes: number };
  /** Read the extended attributes of files and folders (the root recorded some). */
  xattrs?: boolean;
}

/** The attribute digest of a live file or folder, or undefined when its path cannot be passed (not UTF-8) or it is gone. */
function liveXattrs(abs: Buffer, asRoot: boolean): Buffer | undefined {
  const p = abs.toString('utf8');
  if (!Buffer.from(p).equals(abs)) return undefined;
  try {
    return xattrDigestOf(encodeXattrs(readXattrs(p, asRoot)));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

export function liveSide(top: string, opts: LiveSideOptions): Side {
  const topAbs = Buffer.from(top);
  return {
    label: '.latest',
    isSnapshot: false,
    list: async (dir, rel) => {
      const abs = dir ? dir.abs! : topAbs;
      let names: Buffer[];
      try {
        names = await fsp.readdir(abs, { encoding: 'buffer' });
      } catch (e) {
        const code = errnoCode(e);
        if (rel.length > 0 && (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'ENOTDIR')) {
          opts.warnings.add(code === 'ENOENT' || code === 'ENOTDIR' ? 'vanished' : 'unreadable', rel, `folder not compared: ${code}`);
          return [];
        }
        throw e;
      }
      names.sort(Buffer.compare);
      const row = opts.catalog?.quickCheck(rel);
      const byName = row ? recordsByName(row.records) : undefined;
      const out: SideEntry[] = [];
      for (const name of names) {
        const childAbs = joinPath(abs, name);
        const childRel = joinPath(rel, name);
        let st: fs.BigIntStats;
        try {
          st = await fsp.lstat(childAbs, { bigint: true });
        } catch (e) {
          if (errnoCode(e) === 'ENOENT') continue; // gone since the listing
          throw e;
        }
        const isDir = st.isDirectory();
        if (opts.exclude?.(childRel, isDir)) continue;
        const meta = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
        const xattrs = opts.xattrs && (isDir || st.isFile()) ? liveXattrs(childAbs, ourUid === 0) : undefined;
        if (isDir) {
          out.push({ name, kind: Kind.Dir, ...meta, size: 0, abs: childAbs, xattrs });
        } else if (st.isSymbolicLink()) {
          const target = await fsp.readlink(childAbs, { encoding: 'buffer' }).catch((e: unknown) => {
            if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'EINVAL') return undefined; // gone or replaced since the lstat
            throw e;
          });
          if (target) out.push({ name, kind: Kind.Symlink, ...meta, size: target.length, target });
        } else if (st.isFile()) {
          const known = row ? knownHash(row.records, byName!, name, st) : undefined;
          let memo: Promise<Buffer | undefined> | undefined;
          out.push({
            name,
            kind: Kind.File,
            ...meta,
            size: Number(st.size),
            xattrs,
            hash: known,
            getHash: () =>
              (memo ??= readSourceFile(childAbs, { dev: st.dev, ino: st.ino }, '', false).then(
                (r) => {
                  opts.counters.hashedFiles++;
                  opts.counters.hashedBytes += r.size;
                  return r.hash;
                },
                (e: unknown) => {
                  opts.warnings.add('unreadable', childRel, `not compared: ${errnoCode(e) ?? (e as Error).message}`);
                  return undefined;
                },
              )),
          });
        }
        // FIFOs, sockets, devices: a take does not store them, so they are not compared.
      }
      return out;
    },
  };
}

/** The content hash of a file entry, reading the live file only when it is not known. */
export async function hashOf(e: SideEntry): Promise<Buffer | undefined> {
  if (e.hash) return e.hash;
  return e.getHash ? e.getHash() : undefined;
}
