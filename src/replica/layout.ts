/**
 * What a replica looks like in the bucket (docs/replicas.md):
 *
 *   <prefix>/HEAD                       JSON pointer to the current generation; written last
 *   <prefix>/catalogs/<generation>.db   consistent copies of the catalog (current and previous)
 *   <prefix>/blobs/<ab>/<BLAKE3 hex>    file contents, one per content hash
 *
 * Blobs are content only: a local store holds one inode per (content, metadata), but the
 * metadata lives in the catalog, so every variant of one content shares one remote blob.
 */
import { randomBytes } from 'node:crypto';
import { SnapError } from '../errors.js';
import type { ReplicaUrl } from './url.js';

export const REPLICA_FORMAT = 'linksnap-replica';
export const REPLICA_VERSION = 1;

export interface CatalogRef {
  generation: string;
  /** Key of the catalog copy, relative to the bucket. */
  key: string;
  /** BLAKE3 hex of the catalog file, checked by pull and verify before it is opened. */
  blake3: string;
  size: number;
}

export interface ReplicaHead extends CatalogRef {
  format: typeof REPLICA_FORMAT;
  version: number;
  pushedAt: string;
  /** The snapshots this generation holds, oldest first (informational). */
  snapshots: string[];
  blobs: number;
  blobBytes: number;
  /** The generation before this one: its blobs are kept until the next push (see push.ts). */
  previous?: CatalogRef;
}

function join(prefix: string, rest: string): string {
  return prefix ? `${prefix}/${rest}` : rest;
}

export function headKey(r: ReplicaUrl): string {
  return join(r.prefix, 'HEAD');
}

export function blobsPrefix(r: ReplicaUrl): string {
  return join(r.prefix, 'blobs/');
}

export function catalogsPrefix(r: ReplicaUrl): string {
  return join(r.prefix, 'catalogs/');
}

export function blobKey(r: ReplicaUrl, hex: string): string {
  return join(r.prefix, `blobs/${hex.slice(0, 2)}/${hex}`);
}

export function catalogKey(r: ReplicaUrl, generation: string): string {
  return join(r.prefix, `catalogs/${generation}.db`);
}

const HEX_RE = /^[0-9a-f]{64}$/;

/** The BLAKE3 hex a blob key names, or undefined for anything else under blobs/. */
export function hexOfBlobKey(r: ReplicaUrl, key: string): string | undefined {
  const pre = blobsPrefix(r);
  if (!key.startsWith(pre)) return undefined;
  const m = /^([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key.slice(pre.length));
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}

/** Sortable by time (UTC, to the second) and unique (random suffix). */
export function newGeneration(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

function isCatalogRef(v: unknown): v is CatalogRef {
  const o = v as Record<string, unknown>;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.generation === 'string' &&
    typeof o.key === 'string' &&
    typeof o.blake3 === 'string' &&
    HEX_RE.test(o.blake3) &&
    typeof o.size === 'number'
  );
}

export function parseHead(text: string, where: string): ReplicaHead {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new SnapError('CATALOG', `${where} is not a linksnap replica pointer (not JSON)`);
  }
  const o = v as Record<string, unknown>;
  if (!isCatalogRef(v) || o.format !== REPLICA_FORMAT) {
    throw new SnapError('CATALOG', `${where} is not a linksnap replica pointer`);
  }
  if (typeof o.version !== 'number' || o.version > REPLICA_VERSION) {
    throw new SnapError('CATALOG', `${where} has replica format version ${String(o.version)}, newer than this linksnap understands`, {
      hint: 'upgrade linksnap',
    });
  }
  if (o.previous !== undefined && !isCatalogRef(o.previous)) throw new SnapError('CATALOG', `${where} has a malformed 'previous' entry`);
  return v as ReplicaHead;
}
