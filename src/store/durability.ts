/**
 * Durability helpers. One fsync per small file costs ~0.45 ms here, so a take flushes the whole
 * file system once with syncfs(2) (through coreutils `sync -f`, since Node has no binding)
 * before the catalog commit that makes a snapshot visible. See docs/guarantees.md.
 */
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { trace } from '../util/trace.js';

const run = promisify(execFile);

/** Flush every dirty page and inode of the file system holding `p`. */
export async function syncFileSystem(p: string): Promise<void> {
  trace('syncfs');
  if (process.env.LINKSNAP_NO_SYNC === '1') return; // tests on tmpfs; documented as unsafe
  try {
    await run('sync', ['-f', p]);
  } catch (e) {
    // `sync` ran and failed (an exit status, not a spawn error): older coreutils without -f.
    if (typeof (e as { code?: unknown }).code !== 'number') throw e;
    await run('sync', []); // flush everything
  }
}

/** fsync a directory so a rename or link inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  trace(`fsync-dir`);
  if (process.env.LINKSNAP_NO_SYNC === '1') return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
