/** `snap list`: the snapshots the catalog holds, oldest first. Read-only, takes no lock. */
import path from 'node:path';
import { openRoot } from '../shared/root.js';

export interface ListedSnapshot {
  name: string;
  path: string;
  takenAt: string; // ISO 8601
  files: number;
  dirs: number;
  bytes: number;
  newObjects: number;
  newBytes: number;
  pinned: boolean;
  warnings: number;
}

export function listSnapshots(rootArg: string): ListedSnapshot[] {
  const root = openRoot(rootArg, { readonly: true });
  try {
    return root.catalog
      .listSnapshots()
      .filter((s) => s.state === 'complete')
      .map((s) => ({
        name: s.name,
        path: path.join(root.layout.root, s.name),
        takenAt: new Date(Number(s.takenNs / 1_000_000n)).toISOString(),
        files: s.files,
        dirs: s.dirs,
        bytes: s.bytes,
        newObjects: s.newObjects,
        newBytes: s.newBytes,
        pinned: s.pinned,
        warnings: s.warnings,
      }));
  } finally {
    root.close();
  }
}
