/**
 * Durability helpers (the argument is in docs/guarantees.md, "Power loss"): before its catalog
 * commit a take makes what it wrote durable — its new objects and the fan-out folders that got
 * their names — either one by one (fsync) or with one syncfs(2) of the file system (coreutils
 * `sync -f`, since Node has no binding), whichever costs less (ops/take/take-durability.ts). Dated folders are views of the catalog: they are not flushed; a durable mark
 * (the boot they were made in) has the first locked run after a reboot rebuild them.
 * LINKSNAP_NO_SYNC=1 turns every flush off (tests on tmpfs only; documented as unsafe).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
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
  await fsyncFile(dir);
}

/** fsync a file (a new object, before the commit that references it) or a folder by path. */
export async function fsyncFile(p: string): Promise<void> {
  if (process.env.LINKSNAP_NO_SYNC === '1') return;
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Bytes the whole machine has written and not yet flushed (Dirty + Writeback of /proc/meminfo):
 * what a syncfs would wait for besides a take's own writes, at most (other file systems count
 * too). Undefined where it cannot be read. LINKSNAP_TEST_UNWRITTEN_KIB stands in for it in tests.
 */
export function unwrittenBytes(): number | undefined {
  if (process.env.LINKSNAP_TEST_UNWRITTEN_KIB !== undefined) return Number(process.env.LINKSNAP_TEST_UNWRITTEN_KIB) * 1024;
  let text: string;
  try {
    text = fs.readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const total = kib('Dirty') + kib('Writeback');
  return Number.isFinite(total) ? total * 1024 : undefined;
}

/**
 * This boot of the machine (Linux's random boot id; LINKSNAP_TEST_BOOT_ID stands in for a
 * reboot in tests). A dated folder marked with another boot may have lost entries in a power cut.
 * Undefined where it cannot be read: then folders are flushed before their commit instead.
 */
export function bootId(): string | undefined {
  if (process.env.LINKSNAP_TEST_BOOT_ID) return process.env.LINKSNAP_TEST_BOOT_ID;
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT' || (e as { code?: string }).code === 'EACCES') return undefined;
    throw e;
  }
}
