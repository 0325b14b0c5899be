/**
 * Store-wide checks of `snap verify` that only make sense when the whole root is verified:
 * leftovers of interrupted runs and objects nothing references. All informational: `snap gc`
 * and the next locked run clean them up; none of them is damage.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Root } from '../shared/root.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { danglingEntryCount, objectsWithFirstByte } from '../../catalog/verify-queries.js';
import { isFanOutName, objectName, parseObjectFileIn } from '../../store/layout.js';
import type { Finding } from './types.js';
import { lexists, listDir, lstatOrUndefined } from '../../util/fs.js';
import { lostFoundDir } from '../shared/lost-found.js';
import { joinPath } from '../../util/paths.js';

const LIST_CAP = 1000;

function rel(root: Root, p: string): string {
  return path.relative(root.layout.root, p);
}

function info(kind: Finding['kind'], paths: string[], message: string, snapshots: string[] = []): Finding {
  const f: Finding = { kind, severity: 'info', snapshots, paths: paths.slice(0, LIST_CAP), message };
  if (paths.length > LIST_CAP) f.morePaths = paths.length - LIST_CAP;
  return f;
}

/**
 * Objects rows no snapshot references (any state: one being pruned still owns its objects), and
 * files in .snap/objects that no row accounts for. Both are asked of SQLite (gc's mark query,
 * and the rows of one fan-out folder at a time, 1/256 of the store), so memory does not grow
 * with the store.
 */
export function storeLeftovers(root: Root): Finding[] {
  const out: Finding[] = [];
  const { layout, catalog } = root;
  const unref: string[] = [];
  let unrefBytes = 0;
  for (const o of catalog.unreferencedObjects()) {
    const name = objectName(o);
    unref.push(path.join('.snap/objects', name.slice(0, 2), name));
    unrefBytes += o.size * o.replicas;
  }
  if (unref.length) out.push(info('unreferenced-object', unref, `${unref.length} object(s), ${unrefBytes} bytes, not referenced by any snapshot; \`snap gc\` removes them`));

  const stray: string[] = [];
  const unknown: string[] = [];
  for (const fan of listDir(layout.objects)) {
    const dir = path.join(layout.objects, fan);
    if (!isFanOutName(fan)) {
      unknown.push(rel(root, dir));
      continue;
    }
    const replicas = new Map(objectsWithFirstByte(catalog, parseInt(fan, 16)).map((o) => [objectName(o), o.replicas]));
    for (const name of listDir(dir)) {
      const parsed = parseObjectFileIn(fan, name);
      if (!parsed) unknown.push(rel(root, path.join(dir, name)));
      else if (parsed.replica >= (replicas.get(objectName(parsed.key)) ?? 0)) stray.push(rel(root, path.join(dir, name)));
    }
  }
  if (stray.length) out.push(info('stray-object-file', stray, `${stray.length} file(s) in .snap/objects the catalog does not know (left by an interrupted run, or one in progress); \`snap gc\` removes them`));
  if (unknown.length) out.push(info('stray-object-file', unknown, `${unknown.length} name(s) in .snap/objects that linksnap never makes; nothing deletes them: move them away if they are yours`));

  const dangling = danglingEntryCount(catalog);
  if (dangling) out.push(info('catalog-dangling', [], `${dangling} catalog entry row(s) belong to no tree; \`snap gc\` removes them`));
  const waiting = lostFound(root);
  if (waiting) out.push(waiting);
  return out;
}

/**
 * What repairs and rebuilds moved out of dated folders into .snap/lost+found: one path per run
 * folder (`.snap/lost+found/<snapshot>/<run>`) and how many files, symlinks and other non-folders
 * wait below them (counted with lstat: nothing there is followed).
 */
function lostFound(root: Root): Finding | undefined {
  const top = lostFoundDir(root.layout);
  const runs: string[] = [];
  let waiting = 0;
  for (const snap of listDir(top)) {
    for (const run of listDir(path.join(top, snap))) {
      runs.push(rel(root, path.join(top, snap, run)));
      const stack: Buffer[] = [Buffer.from(path.join(top, snap, run))];
      while (stack.length) {
        const p = stack.pop()!;
        const st = lstatOrUndefined(p);
        if (!st) continue;
        if (!st.isDirectory()) waiting++;
        else for (const name of fs.readdirSync(p, { encoding: 'buffer' })) stack.push(joinPath(p, name));
      }
    }
  }
  if (runs.length === 0) return undefined;
  return info(
    'lost-found',
    runs,
    `${waiting} file(s) that were in dated folders but not in their snapshots wait in .snap/lost+found (moved there by a repair or rebuild); look through them and delete them when done`,
  );
}

/** .snap/staging, .snap/tmp and .snap/trash, and interrupted prunes. */
export function runLeftovers(root: Root, all: readonly SnapshotRow[]): Finding[] {
  const out: Finding[] = [];
  const { layout } = root;
  const byName = new Map(all.map((s) => [s.name, s]));
  for (const name of listDir(layout.staging)) {
    const snap = byName.get(name);
    const final = path.join(layout.root, name);
    if (snap && snap.state === 'complete' && !lexists(final)) {
      out.push(info('committed-awaiting-publish', [rel(root, path.join(layout.staging, name))], 'a complete snapshot still in .snap/staging; the next locked run (take, gc, materialize, verify --repair) moves it into place', [name]));
    } else {
      out.push(info('staging-leftover', [rel(root, path.join(layout.staging, name))], 'a folder of an interrupted run (or one in progress); the next locked run removes it'));
    }
  }
  const tmp = listDir(layout.tmp).map((n) => rel(root, path.join(layout.tmp, n)));
  if (tmp.length) out.push(info('tmp-leftover', tmp, `${tmp.length} temporary file(s) of an interrupted run (or one in progress); the next locked run removes them`));
  const trash = listDir(layout.trash).map((n) => rel(root, path.join(layout.trash, n)));
  if (trash.length) out.push(info('trash-leftover', trash, 'removed folders not yet deleted; the next take deletes them'));
  for (const s of all) {
    if (s.state === 'deleting') out.push(info('snapshot-deleting', [s.name], 'an interrupted prune; the next locked run finishes it', [s.name]));
  }
  return out;
}

/** Staging folders that hold a complete snapshot whose dated folder is not in place yet. */
export function awaitingPublish(root: Root, all: readonly SnapshotRow[]): Set<string> {
  const names = new Set(listDir(root.layout.staging));
  return new Set(all.filter((s) => s.state === 'complete' && names.has(s.name) && !lexists(path.join(root.layout.root, s.name))).map((s) => s.name));
}
