/**
 * The "dirty" marker, .snap/dirty: set (durably) before any object is published, cleared by a
 * take that finished cleanly or after a sweep of stray objects. While it is absent, every file in
 * .snap/objects is either known to the catalog or was published complete by the running take,
 * so an existing object name can be trusted without reading it (the ingest workers rely on
 * this). A take that finds the marker first sweeps the objects the catalog does not know: the
 * leftovers of a run that was killed, failed, or lost power before its commit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Root } from './root.js';
import { fsyncDir } from '../../store/durability.js';

const marked = new Set<string>();

function markerPath(root: Root): string {
  return path.join(root.layout.store, 'dirty');
}

export function isDirty(root: Root): boolean {
  return fs.existsSync(markerPath(root));
}

export async function markDirty(root: Root): Promise<void> {
  const p = markerPath(root);
  if (marked.has(p)) return;
  fs.writeFileSync(p, `${process.pid}\n`);
  await fsyncDir(root.layout.store);
  marked.add(p);
}

export function clearDirty(root: Root): void {
  const p = markerPath(root);
  fs.rmSync(p, { force: true });
  marked.delete(p);
}
