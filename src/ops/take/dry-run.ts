/**
 * `snap take --dry-run`: what a take would store and what it would leave out, changing nothing.
 *
 * Walks `.latest` exactly as a take would (same excludes, same kinds), reading metadata only. A
 * file is "unchanged" when its quick-check record holds (src/model/quick-check.ts) — a take
 * would not read it — and "changed" otherwise: new or modified, so a take would read and hash it
 * (its content may still turn out to be in the store already). Records written under other
 * exclude rules vouch for nothing, exactly as in a take.
 *
 * Nothing is created: no store, no catalog, no lock file. The catalog, when there is one, is
 * opened read-only; no lock is taken, so the listing is a preview, not a promise.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import { readSetting } from '../shared/settings.js';
import { existsSync } from 'node:fs';
import { resolveRoot, openRoot, type Root } from '../shared/root.js';
import { findSource } from '../shared/source.js';
import { RULES_SETTING, knownHash, recordsByName, recordsTrusted, rulesKeyOf } from '../../model/quick-check.js';
import { layoutFor } from '../../store/layout.js';
import { joinPath, showName } from '../../util/paths.js';
import { errnoCode } from '../../errors.js';
import type { ExcludeFn } from './excludes.js';
import { judgeShrink, shrinkBaseline, shrinkMessage } from './shrink-guard.js';
import { resolveBoundaries, type BoundaryOptions } from './boundaries.js';
import { markerIn } from '../../store/folder-markers.js';

/**
 * changed: a file a take would read and hash; unchanged: a file the quick check vouches for;
 * included: a folder or symlink (recorded from its metadata); excluded: left out by an exclude
 * rule (a folder's contents are not visited); emptied: a folder kept without its contents (on
 * another file system with --one-file-system, or holding a marker file: boundaries.ts);
 * skipped: special files and unreadable paths.
 */
export type DryRunStatus = 'changed' | 'unchanged' | 'included' | 'excluded' | 'emptied' | 'skipped';

export interface DryRunEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  status: DryRunStatus;
  size?: number;
  /** skipped, emptied: why. */
  reason?: string;
}

export interface DryRunOptions {
  exclude?: ExcludeFn;
  /** As take's: mount points and marker files, added to the saved settings. */
  boundaries?: BoundaryOptions;
  checksum?: boolean;
  /** As take's --xattrs (default: the saved take.xattrs): records written otherwise are not trusted. */
  xattrs?: boolean;
  /** As take's: do not report the shrink guard's refusal. */
  allowShrink?: boolean;
  /** Called for every entry as the walk meets it (folders before their contents). */
  onEntry?: (e: DryRunEntry) => void;
}

export interface DryRunResult {
  dryRun: true;
  source: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  changedFiles: number;
  changedBytes: number;
  excluded: number;
  /** Folders kept without their contents (boundaries). */
  emptied: number;
  skipped: number;
  /** The shrink guard would refuse this source: the real take's error message (shrink-guard.ts). */
  wouldRefuse?: string;
}

export async function takeDryRun(rootArg: string, opts: DryRunOptions = {}): Promise<DryRunResult> {
  const rootPath = resolveRoot(rootArg);
  const source = findSource(rootPath);
  const hasCatalog = existsSync(layoutFor(rootPath).catalog);
  const root: Root | undefined = hasCatalog ? openRoot(rootPath, { readonly: true }) : undefined;
  // A take under other exclude rules starts its records afresh (take.ts): so does its preview.
  const xattrs = root !== undefined && (opts.xattrs ?? readSetting(root.catalog.getConfig(), 'take.xattrs'));
  const trusted = !opts.checksum && root !== undefined && recordsTrusted(root.catalog.getInternal(RULES_SETTING), rulesKeyOf(opts.exclude, xattrs));
  const boundaries = resolveBoundaries(root?.catalog.getConfig(), opts.boundaries ?? {});
  const r: DryRunResult = { dryRun: true, source: source.real, files: 0, dirs: 0, symlinks: 0, bytes: 0, changedFiles: 0, changedBytes: 0, excluded: 0, emptied: 0, skipped: 0 };
  const emit = (e: DryRunEntry) => opts.onEntry?.(e);
  const emptied = (rel: Buffer, reason: string) => {
    r.emptied++;
    emit({ path: showName(rel), kind: 'dir', status: 'emptied', reason });
  };
  const topDev = (await fsp.stat(source.real, { bigint: true })).dev;

  const walk = async (abs: Buffer, rel: Buffer): Promise<void> => {
    let names: Buffer[];
    try {
      names = await fsp.readdir(abs, { encoding: 'buffer' });
    } catch (e) {
      const code = errnoCode(e);
      if (rel.length > 0 && (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT')) {
        r.skipped++;
        emit({ path: showName(rel), kind: 'dir', status: 'skipped', reason: `contents unreadable: ${code}` });
        return;
      }
      throw e;
    }
    names.sort(Buffer.compare);
    const marker = boundaries.markers.length > 0 ? markerIn(abs, (n) => names.some((x) => x.equals(n)), boundaries.markers) : undefined;
    if (marker) {
      // A take keeps only the marker of such a folder (src/store/folder-markers.ts).
      emptied(rel, `holds ${marker.name.toString()}: only that file kept`);
      names = [marker.name];
    }
    const row = trusted ? root!.catalog.quickCheck(rel) : undefined;
    const byName = row ? recordsByName(row.records) : undefined;
    const dirs: [Buffer, Buffer, bigint][] = [];
    for (const name of names) {
      const childAbs = joinPath(abs, name);
      const childRel = joinPath(rel, name);
      const shown = showName(childRel);
      let st: fs.BigIntStats;
      try {
        st = await fsp.lstat(childAbs, { bigint: true });
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM') throw e;
        r.skipped++;
        emit({ path: shown, kind: 'other', status: 'skipped', reason: code });
        continue;
      }
      const isDir = st.isDirectory();
      const kind = isDir ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
      if (opts.exclude?.(childRel, isDir)) {
        r.excluded++;
        emit({ path: shown, kind, status: 'excluded' });
        continue;
      }
      if (isDir) {
        dirs.push([childAbs, childRel, st.dev]);
      } else if (kind === 'symlink') {
        r.symlinks++;
        emit({ path: shown, kind, status: 'included', size: Number(st.size) });
      } else if (kind === 'file') {
        const size = Number(st.size);
        r.files++;
        r.bytes += size;
        const changed = !row || !knownHash(row.records, byName!, name, st);
        if (changed) {
          r.changedFiles++;
          r.changedBytes += size;
        }
        emit({ path: shown, kind, status: changed ? 'changed' : 'unchanged', size });
      } else {
        r.skipped++;
        emit({ path: shown, kind, status: 'skipped', reason: 'special file (FIFO, socket or device): not stored' });
      }
    }
    for (const [childAbs, childRel, dev] of dirs) {
      r.dirs++;
      emit({ path: showName(childRel), kind: 'dir', status: 'included' });
      if (boundaries.oneFileSystem && dev !== topDev) emptied(childRel, 'another file system: kept as an empty folder');
      else await walk(childAbs, childRel);
    }
  };
  try {
    await walk(Buffer.from(source.real), Buffer.alloc(0));
    const shrink = root && !opts.allowShrink ? judgeShrink(shrinkBaseline(root.catalog), r) : undefined;
    if (shrink) r.wouldRefuse = shrinkMessage(shrink, { root: rootPath, source: source.real });
  } finally {
    root?.close();
  }
  return r;
}
