/**
 * `snap take`: snapshot <root>/.latest into a new dated folder, then rotate.
 *
 * Order of events (docs/design.md, "A take, step by step"):
 *   lock → recover leftovers → pick a name → walk .latest into .snap/staging/<name> (new blobs
 *   published, trees recorded, all in one open catalog transaction) → syncfs → commit (the
 *   snapshot now exists) → rename staging/<name> to <root>/<name> → rotate → gc → unlock →
 *   empty the trash.
 * A failure or kill before the commit leaves no snapshot row and no visible folder; the next
 * run removes the staging folder and tmp files, and gc the unreferenced blobs.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { openRoot, lockRoot, resolveRoot, type Root } from '../shared/root.js';
import type { LockHandle } from '../../catalog/lock.js';
import { findSource } from '../shared/source.js';
import { recover, emptyTrash } from '../shared/recover.js';
import { SourceWalker, type WalkOptions } from './walker.js';
import { FolderWalk } from './folder-walk.js';
import { RULES_SETTING, recordsTrusted, rulesKeyOf } from '../../model/quick-check.js';
import { objectPaths } from '../../catalog/history-queries.js';
import { showName } from '../../util/paths.js';
import { finishDir, refuseNothing } from '../shared/place.js';
import { readSetting } from '../shared/settings.js';
import { xattrBinding } from '../../store/xattrs.js';
import { rotate } from '../retention/rotate.js';
import { collectGarbage, type GcResult } from '../retention/collect-garbage.js';
import type { Warning } from '../shared/warnings.js';
import { layoutFor, snapshotNameFor } from '../../store/layout.js';
import { bootId } from '../../store/durability.js';
import { nsToUtimeArg } from '../../store/times.js';
import { SnapError, wrapFsError } from '../../errors.js';
import { removeTree } from '../../util/fs.js';
import { faultPoint } from '../../util/fault.js';
import { clearDirty, isDirty } from '../shared/dirty.js';
import { TakeDurability } from './take-durability.js';
import { IngestPool } from '../../store/ingest-pool.js';
import { trace } from '../../util/trace.js';
import type { ExcludeFn } from './excludes.js';
import { lexists } from '../../util/fs.js';
import { refuseIfShrunk, shrinkBaseline } from './shrink-guard.js';
import { resolveBoundaries, type BoundaryOptions } from './boundaries.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import type { EntryMeta } from '../../model/entry.js';
import { NO_XATTRS } from '../../model/xattrs.js';
import { hookSettings, preHookError, runHook, type HookName, type HookOutcome, type HookSettings } from './hooks.js';
import { failureOf, nowNs, recordRunOn, recordRunWarningIn } from '../shared/run-record.js';

export interface TakeOptions {
  /**
   * Keep the newest N snapshots after this take (the seed's numRotations): keep-last N for this
   * run. Without it the root's saved policy applies, else keep-last 16 (docs/retention.md).
   */
  keep?: number;
  /** Take the source even when it is empty or lost more than take.max-shrink (shrink-guard.ts). */
  allowShrink?: boolean;
  /** Re-hash every file instead of trusting size+mtime+ctime+inode. */
  checksum?: boolean;
  /** Record extended attributes and ACLs; default: the saved setting take.xattrs (off). */
  xattrs?: boolean;
  /** How long to wait for another run's lock (ms). */
  waitMs?: number;
  /** The clock used for the folder name and creation order (tests inject one). */
  now?: () => Date;
  /** Paths to leave out; its `key` names the rules (see trustRecordsFor below). */
  exclude?: ExcludeFn;
  /** Mount points and marker files, added to the saved take.* settings (boundaries.ts). */
  boundaries?: BoundaryOptions;
  /** Called for each folder kept with its contents left out by a boundary. */
  onBoundary?: (rel: Buffer, why: string) => void;
  /** Make no snapshot when nothing changed since the newest one (also take.skip-unchanged). */
  skipUnchanged?: boolean;
  /** Files changed this recently are re-hashed next time (see take-walker.ts); tests narrow it. */
  racyWindowMs?: number;
  onFile?: WalkOptions['onFile'];
  /** Test seams (test/fault): called just before a source file is opened for reading. */
  testHooks?: WalkOptions['hooks'];
  /** Run no hooks this time (`take --no-hooks`). */
  noHooks?: boolean;
  /** The exit code the caller will end with for an error: hooks.failure gets it as LINKSNAP_EXIT (default 1). */
  exitCodeOf?: (e: unknown) => number;
  /** Told when each hook ends (pre, post, failure). */
  onHook?: (o: HookOutcome) => void;
}

export interface TakeResult {
  /**
   * Nothing changed since the newest snapshot and --skip-unchanged was on: no new snapshot was
   * made and nothing rotated; `snapshot` and `path` name the newest one.
   */
  skipped: boolean;
  snapshot: string;
  path: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  hashedFiles: number;
  hashedBytes: number;
  newObjects: number;
  newBytes: number;
  /** Logical bytes of this snapshot that did not need new storage. */
  dedupBytes: number;
  warnings: Warning[];
  warningCount: number;
  rotated: string[];
  gc: GcResult | undefined;
  /** The hooks that ran (pre, post); a failed post makes the take complete with a warning. */
  hooks: HookOutcome[];
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A name no snapshot has; in the same second as the previous take, wait for the next one. */
async function pickName(root: Root, now: () => Date): Promise<{ name: string; date: Date }> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const date = now();
    const name = snapshotNameFor(date);
    const taken =
      root.catalog.getSnapshot(name) !== undefined ||
      (lexists(path.join(root.layout.root, name))) ||
      (lexists(path.join(root.layout.staging, name)));
    if (!taken) return { name, date };
    await sleep(250);
  }
  throw new SnapError('IO', 'could not find a free snapshot name for 15 seconds (is the clock stuck?)');
}

/**
 * Start the records afresh unless they were written under this take's exclude rules
 * (src/model/quick-check.ts). A --checksum take reads no records but writes every folder's
 * anew, so it starts afresh too: records of folders that vanished meanwhile must not outlive it.
 */
function trustRecordsFor(root: Root, opts: TakeOptions, xattrs: boolean): void {
  const key = rulesKeyOf(opts.exclude, xattrs);
  if (!opts.checksum && recordsTrusted(root.catalog.getInternal(RULES_SETTING), key)) return;
  root.catalog.clearQuickCheck();
  root.catalog.setInternal(RULES_SETTING, key);
}

/**
 * A warning for each object this take found damaged (edited in place through a dated folder, or
 * bit rot caught by --checksum) and replaced from the source, naming the older snapshots that
 * still hold the damaged copy until `snap verify --repair` re-links them.
 */
function reportDamaged(root: Root, walker: SourceWalker): void {
  for (const { key, rel } of walker.damaged.values()) {
    const older = objectPaths(root.catalog, key).map((p) => `${p.snapshot}/${showName(p.rel)}`);
    const where = older.length > 0 ? `older snapshots still hold the damaged copy: ${older.join(', ')}${older.length === 20 ? ', …' : ''}` : 'no older snapshot holds it';
    walker.warnings.add('damaged', rel, `its stored object was damaged (changed through a dated folder?) and was stored again from .latest; ${where}; run \`snap verify --repair\``);
  }
}

/** What a take's walk found and stored, as its result reports it (taken or skipped). */
function walkSummary(walker: SourceWalker, totals: { files: number; dirs: number; bytes: number }) {
  return {
    files: totals.files,
    dirs: totals.dirs,
    symlinks: walker.counters.symlinks,
    bytes: totals.bytes,
    hashedFiles: walker.counters.hashedFiles,
    hashedBytes: walker.counters.hashedBytes,
    newObjects: walker.placer.newObjects,
    newBytes: walker.placer.newBytes,
    dedupBytes: totals.bytes - walker.placer.newBytes,
    warnings: walker.warnings.list,
    warningCount: walker.warnings.count,
  };
}

function newestComplete(root: Root): SnapshotRow | undefined {
  return root.catalog
    .listSnapshots()
    .filter((s) => s.state === 'complete')
    .at(-1);
}

/**
 * The newest snapshot, when this take's tree and top folder are exactly its own (trees are
 * stored once per digest, so the same tree is the same id) and its dated folder is still there.
 */
function unchangedSince(root: Root, newest: SnapshotRow | undefined, tree: number, top: EntryMeta, topXattrs: Buffer | undefined): SnapshotRow | undefined {
  if (!newest || newest.rootTree !== tree) return undefined;
  if (newest.rootMode !== top.mode || newest.rootUid !== top.uid || newest.rootGid !== top.gid || newest.rootMtimeNs !== top.mtimeNs) return undefined;
  if (!newest.rootXattrs.equals(topXattrs ?? NO_XATTRS)) return undefined;
  return lexists(path.join(root.layout.root, newest.name)) ? newest : undefined;
}

/**
 * --skip-unchanged with nothing changed: no snapshot row, no folder, no rotation. What the walk
 * learnt is kept (the quick-check records, any object stored again to replace a damaged one, made
 * durable first), and the staging folder goes.
 */
async function skipTake(root: Root, walker: SourceWalker, durability: TakeDurability, stage: string, newest: SnapshotRow, totals: { files: number; dirs: number; bytes: number }): Promise<TakeResult> {
  await walker.pool.close();
  await removeTree(stage);
  await durability.flush();
  root.catalog.commit();
  clearDirty(root); // every object on disk is known to the catalog
  return {
    hooks: [],
    skipped: true,
    snapshot: newest.name,
    path: path.join(root.layout.root, newest.name),
    ...walkSummary(walker, totals),
    rotated: [],
    gc: undefined,
    seconds: 0,
  };
}

export async function take(rootArg: string, opts: TakeOptions = {}): Promise<TakeResult> {
  const t0 = process.hrtime.bigint();
  const keep = opts.keep;
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) throw new SnapError('USAGE', `--keep must be a positive integer, got ${keep}`);
  const rootPath = resolveRoot(rootArg);
  // Without a store there are no saved hooks that could fill .latest: check it before creating
  // anything, so a wrong root stays untouched. With one, hooks.pre runs first (below).
  if (!lexists(layoutFor(rootPath).store)) findSource(rootPath);
  if (opts.xattrs) xattrBinding(); // one clear line before anything is created, when it cannot load
  const root = openRoot(rootPath, { create: true });
  // --- hooks and run records (hooks.ts, docs/operations.md "Hooks" and "Health status") ---
  let hooks: HookSettings | undefined;
  const ran: HookOutcome[] = [];
  const hook = async (name: HookName, command: string, env: Record<string, string>) => {
    const o = await runHook(name, command, { LINKSNAP_ROOT: rootPath, ...env }, hooks!.timeoutMs);
    ran.push(o);
    opts.onHook?.(o);
    return o;
  };
  const startedNs = nowNs();
  let result: TakeResult | undefined;
  let recordId: number | undefined;
  let lock: LockHandle | undefined;
  const unlock = async () => {
    lock?.release();
    root.close();
    await emptyTrash(root).catch(() => {}); // best effort; the next run retries
  };
  try {
    hooks = opts.noHooks ? undefined : hookSettings(root.catalog.getConfig());
    lock = lockRoot(root, 'take', opts.waitMs);
    try {
      await recover(root);
      // A run did not finish cleanly: objects it published may be unknown to the catalog (maybe
      // half written before a power cut). Sweep them now — a full scan of the store, paid only
      // after a crash or failure — so that every object file is trustworthy again (dirty.ts).
      // The marker itself is set only when this take publishes its first object.
      if (isDirty(root)) await collectGarbage(root, { sweepStrays: true });
      // hooks.pre runs under the lock and before .latest is looked at: it may create or fill it.
      if (hooks?.pre) {
        const pre = await hook('pre', hooks.pre, {});
        if (!pre.ok) throw preHookError(pre, rootPath);
      }
      const source = findSource(rootPath);
      result = await takeLocked(root, source.real, keep, opts);
      result.hooks = ran;
      recordId = recordRunOn(root.catalog, { command: 'take', startedNs, finishedNs: nowNs(), outcome: result.skipped ? 'skipped' : result.warningCount > 0 ? 'warnings' : 'ok', snapshot: result.snapshot, warnings: result.warningCount });
    } catch (e) {
      // Written after takeLocked's rollback: a failed take leaves this record and nothing else.
      recordRunOn(root.catalog, { command: 'take', startedNs, finishedNs: nowNs(), outcome: 'failed', ...failureOf(e) });
      throw e;
    }
  } catch (e) {
    await unlock();
    // Outside the lock, like post: a slow alert must not hold up the next run.
    if (hooks?.failure) {
      const exit = opts.exitCodeOf?.(e) ?? 1;
      await hook('failure', hooks.failure, { LINKSNAP_EXIT: String(exit), LINKSNAP_ERROR: failureOf(e).error });
    }
    throw e;
  }
  await unlock();
  // After publish and rotation, outside the lock: a slow health-check ping does not hold up the
  // next run, and the hook may run linksnap on this root itself (snap push, snap verify).
  if (hooks?.post) {
    const post = await hook('post', hooks.post, { LINKSNAP_SNAPSHOT: result.path, LINKSNAP_WARNINGS: String(result.warningCount) });
    if (!post.ok && recordId !== undefined) recordRunWarningIn(root.layout.catalog, recordId, post.message);
  }
  // --- end of hooks and run records ---
  result.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return result;
}

async function takeLocked(root: Root, sourceDir: string, keep: number | undefined, opts: TakeOptions): Promise<TakeResult> {
  const { catalog, layout } = root;
  const { name, date } = await pickName(root, opts.now ?? (() => new Date()));
  const newest = catalog.listSnapshots().at(-1);
  // Creation order must survive a clock that jumps back (DST, NTP): never before the newest.
  let takenNs = BigInt(date.getTime()) * 1_000_000n;
  if (newest && takenNs <= newest.takenNs) takenNs = newest.takenNs + 1n;
  const shrink = opts.allowShrink ? undefined : shrinkBaseline(catalog);
  const saved = catalog.getConfig();
  const boundaries = resolveBoundaries(saved, opts.boundaries ?? {});
  const skipUnchanged = opts.skipUnchanged === true || readSetting(saved, 'take.skip-unchanged') === true;
  const xattrs = opts.xattrs ?? readSetting(saved, 'take.xattrs');
  if (xattrs) xattrBinding();

  const stage = path.join(layout.staging, name);
  await fsp.mkdir(stage, { mode: 0o700 });
  const pool = new IngestPool();
  const durability = new TakeDurability(layout);
  const walker = new SourceWalker(root, pool, {
    top: Buffer.from(sourceDir),
    durability,
    checksum: opts.checksum ?? false,
    startedNs: BigInt(Date.now()) * 1_000_000n,
    exclude: opts.exclude,
    xattrs,
    boundaries,
    onBoundary: opts.onBoundary,
    racyWindowMs: opts.racyWindowMs,
    onFile: opts.onFile,
    hooks: opts.testHooks,
  });
  walker.placer.checkXattrs = xattrs;
  catalog.begin();
  trustRecordsFor(root, opts, xattrs);
  let res;
  let rootStat;
  try {
    rootStat = await fsp.stat(sourceDir, { bigint: true });
    res = await FolderWalk.walkSource(walker, Buffer.from(sourceDir), rootStat, Buffer.from(stage));
    // An empty or collapsed source is refused here, so the failure path below undoes it all.
    if (shrink) refuseIfShrunk(shrink, res.totals, { root: layout.root, source: sourceDir });
    const rootMeta = { mode: Number(rootStat.mode & 0o7777n), uid: Number(rootStat.uid), gid: Number(rootStat.gid), mtimeNs: rootStat.mtimeNs };
    reportDamaged(root, walker);
    const same = skipUnchanged ? unchangedSince(root, newestComplete(root), res.tree, rootMeta, res.xattrs?.digest) : undefined;
    if (same) return await skipTake(root, walker, durability, stage, same, res.totals);
    refuseNothing(await finishDir(stage, rootMeta, root.asRoot, res.xattrs?.set), stage);
    // The new objects reach the disk before the commit that makes them a snapshot; the folder is
    // a view of the catalog, marked with this boot unless the whole file system was flushed.
    const flushed = await durability.flush();
    if (flushed === 'everything') catalog.clearFolderMark(); // older folders are on disk too
    catalog.insertSnapshot({
      name,
      folderBoot: flushed === 'everything' ? undefined : bootId(),
      takenNs,
      rootTree: res.tree,
      rootMode: rootMeta.mode,
      rootUid: rootMeta.uid,
      rootGid: rootMeta.gid,
      rootMtimeNs: rootMeta.mtimeNs,
      rootXattrs: res.xattrs?.digest,
      newObjects: walker.placer.newObjects,
      newBytes: walker.placer.newBytes,
      warnings: walker.warnings.count,
    });
    faultPoint('take:before-commit');
    catalog.commit();
    trace('commit');
    faultPoint('take:committed');
  } catch (e) {
    await pool.close(); // no worker may still write into what is removed below
    catalog.rollback();
    // Leave nothing behind: the staging folder, and the objects this take published (after the
    // rollback the catalog no longer knows them, so they are strays). If this cleanup fails too
    // (e.g. the disk is still full), the next run's recovery does it.
    await removeTree(stage).catch(() => {});
    await collectGarbage(root, { sweepStrays: true }).then(
      () => clearDirty(root),
      () => {},
    );
    throw wrapFsError(e, 'taking a snapshot');
  } finally {
    await pool.close();
  }

  const final = path.join(layout.root, name);
  await fsp.rename(stage, final);
  trace('rename');
  // Moving a folder to a new parent rewrites its '..' entry, which may touch its mtime.
  const t = nsToUtimeArg(rootStat.mtimeNs);
  await fsp.utimes(final, t, t);
  // Not flushed: a rename lost in a power cut leaves the committed folder in staging, which the
  // next run publishes (and rebuilds, its boot being over: shared/recover.ts).
  faultPoint('take:published');

  const rotated = await rotate(root, keep);
  const gc = rotated.length > 0 ? await collectGarbage(root, { incremental: true }) : undefined;
  clearDirty(root); // every object on disk is now known to the catalog
  return {
    skipped: false,
    snapshot: name,
    path: final,
    ...walkSummary(walker, res.totals),
    rotated,
    gc,
    hooks: [],
    seconds: 0,
  };
}
