/**
 * Which source paths a take leaves out. Three layers, in this order (later rules win, so a `!`
 * line can re-include what an earlier layer excluded, exactly as in .gitignore):
 *
 *   1. the defaults: temporary files of sync tools, which are half-written by nature and would
 *      only waste blobs (Syncthing `.syncthing.*.tmp` / `~syncthing~*.tmp`, Resilio/BitTorrent
 *      Sync `*.!sync` and its `.sync/` folder) — off with `defaults: false`
 *      (`--no-default-excludes`);
 *   2. `<root>/.snapignore`, gitignore syntax, paths relative to `.latest`;
 *   3. `--exclude <pattern>` options, same syntax.
 *
 * Matching uses the `ignore` library (the gitignore implementation eslint and others use). Names
 * are bytes, the library works on strings: both patterns and paths are turned into "one char per
 * byte" strings (latin1), so matching is byte-exact and a non-UTF-8 name can neither crash the
 * matcher nor match by accident. (Consequence: `?` matches one byte, not one multi-byte
 * character.)
 */
import fs from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { SnapError, errnoCode } from '../../errors.js';
import { hashBytes } from '../../store/hasher.js';

export const SNAPIGNORE = '.snapignore';

/** Sync tools' temporary files: excluded unless `defaults: false`. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.syncthing.*.tmp', // Syncthing, while a file is being received
  '~syncthing~*.tmp', // Syncthing's temporary name on Windows shares
  '*.!sync', // Resilio Sync / BitTorrent Sync, while a file is being received
  '.sync/', // Resilio Sync's per-folder state (IDs, archive, stream lists)
];

export interface ExcludeOptions {
  /** `--exclude` patterns (gitignore syntax). */
  patterns?: readonly string[];
  /** Include DEFAULT_EXCLUDES (default true). */
  defaults?: boolean;
  /** Read `<root>/.snapignore` when it exists (default true). */
  snapignore?: boolean;
}

export interface ExcludeMatcher {
  /** True when the path (bytes, relative to .latest) is left out. Folders: children are not visited. */
  exclude(rel: Buffer, isDir: boolean): boolean;
  /** Where the rules came from, for --verbose and --dry-run. */
  sources: { defaults: boolean; snapignore: string | undefined; patterns: number };
  /** True when no rule at all is active (the matcher is then never consulted). */
  empty: boolean;
  /**
   * Identifies the rules (their text, in order): a take's quick-check records are only trusted
   * under the rules they were written with (src/ops/take/take.ts).
   */
  key: string;
}

/** An exclude predicate, optionally carrying its rules' key (ExcludeMatcher.key). */
export type ExcludeFn = ((rel: Buffer, isDir: boolean) => boolean) & { key?: string };

/**
 * A matcher as the predicate take, dry-run and diff accept, carrying its rules' key (so a take's
 * quick-check records are reused under the same rules); undefined when no rule is active. With
 * `onExcluded`, every path left out is reported too.
 */
export function excludeFnOf(m: ExcludeMatcher, onExcluded?: (rel: Buffer, isDir: boolean) => void): ExcludeFn | undefined {
  if (m.empty) return undefined;
  const fn = (rel: Buffer, isDir: boolean) => {
    const out = m.exclude(rel, isDir);
    if (out) onExcluded?.(rel, isDir);
    return out;
  };
  return Object.assign(fn, { key: m.key });
}

/** A pattern as "one char per byte", matching how paths are presented to the library. */
function asBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function readSnapignore(rootPath: string): string[] | undefined {
  const file = path.join(rootPath, SNAPIGNORE);
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // a bad root is reported by the command
    throw new SnapError('IO', `cannot read ${file}: ${(e as Error).message}`, { hint: 'fix its permissions or remove it' });
  }
  // Lines are kept as raw bytes (latin1), so a pattern naming a non-UTF-8 file works too.
  return text.toString('latin1').split(/\r?\n/);
}

export function buildExcludes(rootPath: string, opts: ExcludeOptions = {}): ExcludeMatcher {
  const ig: Ignore = ignore({ allowRelativePaths: false });
  let rules = 0;
  const ruleText: string[] = [];
  const defaults = opts.defaults ?? true;
  if (defaults) {
    ig.add(DEFAULT_EXCLUDES.map(asBytes));
    rules += DEFAULT_EXCLUDES.length;
  }
  let snapignore: string | undefined;
  if (opts.snapignore ?? true) {
    const lines = readSnapignore(rootPath);
    if (lines) {
      snapignore = path.join(rootPath, SNAPIGNORE);
      ig.add(lines);
      ruleText.push('snapignore', ...lines);
      rules += lines.filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
    }
  }
  const patterns = opts.patterns ?? [];
  for (const p of patterns) {
    if (p.trim() === '') throw new SnapError('USAGE', '--exclude needs a non-empty pattern');
    ig.add(asBytes(p));
    ruleText.push('pattern', p);
    rules++;
  }
  const sources = { defaults, snapignore, patterns: patterns.length };
  const key = hashBytes(Buffer.from(JSON.stringify({ v: 1, defaults: defaults ? DEFAULT_EXCLUDES : [], rules: ruleText }), 'latin1')).toString('hex');
  if (defaults && snapignore === undefined && patterns.length === 0) {
    // Only the defaults: they are basename patterns, so a direct test of the last component
    // gives the same answers as the gitignore engine at a fraction of its cost per path
    // (test/take/excludes-defaults.test.ts checks the two agree).
    return { empty: false, sources, key, exclude: (rel, isDir) => matchesDefaultExclude(rel, isDir) };
  }
  return {
    empty: rules === 0,
    sources,
    key,
    exclude(rel: Buffer, isDir: boolean): boolean {
      if (rel.length === 0) return false;
      const s = rel.toString('latin1');
      return ig.ignores(isDir ? s + '/' : s);
    },
  };
}

const SYNCTHING = Buffer.from('.syncthing.');
const SYNCTHING_WIN = Buffer.from('~syncthing~');
const TMP = Buffer.from('.tmp');
const BANG_SYNC = Buffer.from('.!sync');
const DOT_SYNC = Buffer.from('.sync');

/** DEFAULT_EXCLUDES as a direct test of the path's last component. */
export function matchesDefaultExclude(rel: Buffer, isDir: boolean): boolean {
  const base = rel.subarray(rel.lastIndexOf(0x2f) + 1);
  if (isDir && base.equals(DOT_SYNC)) return true;
  const endsWith = (suffix: Buffer) => base.length >= suffix.length && base.subarray(base.length - suffix.length).equals(suffix);
  const startsWith = (prefix: Buffer) => base.length >= prefix.length && base.subarray(0, prefix.length).equals(prefix);
  if (endsWith(BANG_SYNC) && base.length >= BANG_SYNC.length) return true;
  if (endsWith(TMP)) {
    if (startsWith(SYNCTHING) && base.length >= SYNCTHING.length + TMP.length) return true;
    if (startsWith(SYNCTHING_WIN) && base.length >= SYNCTHING_WIN.length + TMP.length) return true;
  }
  return false;
}
