/**
 * File names are bytes: Linux allows any byte but '/' and NUL, including invalid UTF-8. Every
 * name and relative path in linksnap is a Buffer, and every path handed to `fs` is a Buffer, so
 * nothing is ever decoded and re-encoded on the way.
 */
import { SnapError } from '../errors.js';

const SLASH = 0x2f;
const SLASH_BUF = Buffer.from('/');

export function toBuf(p: string | Buffer): Buffer {
  return typeof p === 'string' ? Buffer.from(p) : p;
}

/** `dir/name` for Buffer paths; an empty dir means the name alone (a relative root). */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return name;
  if (dir[dir.length - 1] === SLASH) return Buffer.concat([dir, name]);
  return Buffer.concat([dir, SLASH_BUF, name]);
}

/** Join any number of relative components onto dir. */
export function joinAll(dir: Buffer, ...names: Buffer[]): Buffer {
  let p = dir;
  for (const n of names) p = joinPath(p, n);
  return p;
}

/**
 * A single directory-entry name is safe to create inside a folder we own: not empty, not `.` or
 * `..`, no `/`, no NUL. Names from the catalog are re-checked with this before anything is
 * written, so a corrupt or hostile catalog can never address a path outside its folder.
 */
export function isSafeName(name: Buffer): boolean {
  if (name.length === 0 || name.length > 255) return false;
  if (name.length === 1 && name[0] === 0x2e) return false;
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return false;
  return !name.includes(SLASH) && !name.includes(0);
}

export function assertSafeName(name: Buffer, where: string): void {
  if (!isSafeName(name)) {
    throw new SnapError('UNSAFE_PATH', `refusing unsafe name ${JSON.stringify(showName(name))} in ${where}`, {
      hint: 'the catalog is damaged or was tampered with; run `snap verify`',
    });
  }
}

/**
 * Split a user-given relative path (e.g. `photos/2024/a.jpg`) into safe components. Empty
 * components and `.` are dropped; `..` or an absolute path is refused.
 */
export function splitRelative(rel: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  if (rel.length > 0 && rel[0] === SLASH) {
    throw new SnapError('USAGE', `path ${JSON.stringify(showName(rel))} must be relative to the snapshot`);
  }
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === SLASH) {
      const part = rel.subarray(start, i);
      start = i + 1;
      if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
        throw new SnapError('USAGE', `path ${JSON.stringify(showName(rel))} may not contain '..'`);
      }
      parts.push(Buffer.from(part));
    }
  }
  return parts;
}

/**
 * A printable form of a byte name: valid UTF-8 is shown as is; invalid bytes and control
 * characters are escaped as \xNN, so a terminal or a log never receives raw control bytes.
 */
export function showName(name: Buffer): string {
  const s = name.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(name) && !/[\x00-\x1f\x7f\\]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < name.length; ) {
    const b = name[i]!;
    // Take the longest valid UTF-8 sequence starting here, else escape one byte.
    const len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    if (len > 1 && i + len <= name.length) {
      const piece = name.subarray(i, i + len);
      const dec = piece.toString('utf8');
      if (Buffer.from(dec, 'utf8').equals(piece)) {
        out += dec;
        i += len;
        continue;
      }
    }
    if (len === 1 && b >= 0x20 && b !== 0x7f && b !== 0x5c) out += String.fromCharCode(b);
    else out += '\\x' + b.toString(16).padStart(2, '0');
    i += 1;
  }
  return out;
}
