/**
 * What a replica looks like in the bucket (docs/replicas.md):
 *
 *   <prefix>/HEAD                       JSON pointer to the current generation; written last
 *   <prefix>/catalogs/<generation>.db   consistent copies of the catalog (current and previous)
 *   <prefix>/blobs/<ab>/<BLAKE3 hex>    file contents, one per content hash
 *   <prefix>/keys/<id>.json             encrypted replicas only: wrapped copies of the master key
 *
 * In an encrypted replica HEAD is an envelope around the sealed pointer, the catalogs and blobs
 * are sealed (sealed-stream.ts) and a blob's name is a keyed hash of its content hash (codec.ts).
 *
 * Blobs are content only: a local store holds one inode per (content, metadata), but the
 * metadata lives in the catalog, so every variant of one content shares one remote blob.
 */
import { randomBytes } from 'node:crypto';
import { SnapError } from '../errors.js';
import type { ReplicaUrl } from './url.js';

export const REPLICA_FORMAT = 'linksnap-replica';
/** Plain replicas are written as version 1; encrypted ones as 2 (older linksnap refuse them). */
export const REPLICA_VERSION = 1;
export const ENCRYPTED_REPLICA_VERSION = 2;
export const REPLICA_CIPHER = 'aes-256-gcm';

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
  /** Encrypted replicas: 1 for the first push, one more for each; guards against rollback. */
  sequence?: number;
}

/** What HEAD holds: a plain pointer, or an encrypted replica's sealed one. */
export type HeadObject = { kind: 'plain'; head: ReplicaHead } | { kind: 'sealed'; sealed: Buffer };

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

export function keysPrefix(r: ReplicaUrl): string {
  return join(r.prefix, 'keys/');
}

export function wrappedKeyKey(r: ReplicaUrl, id: string): string {
  return join(r.prefix, `keys/${id}.json`);
}

export function blobKey(r: ReplicaUrl, hex: string): string {
  return join(r.prefix, `blobs/${hex.slice(0, 2)}/${hex}`);
}

export function catalogKey(r: ReplicaUrl, generation: string): string {
  return join(r.prefix, `catalogs/${generation}.db`);
}

const HEX_RE = /^[0-9a-f]{64}$/;

/** The name (BLAKE3 hex, or its keyed hash when encrypted) a blob key holds, or undefined for anything else under blobs/. */
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

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new SnapError('CATALOG', `${where} is not a linksnap replica pointer (not JSON)`);
  }
}

/** The HEAD object as stored: a plain pointer, or the envelope of an encrypted replica's. */
export function parseHeadObject(text: string, where: string): HeadObject {
  const o = parseJson(text, where) as Record<string, unknown>;
  if (typeof o === 'object' && o !== null && o.format === REPLICA_FORMAT && o.version === ENCRYPTED_REPLICA_VERSION) {
    if (o.encryption !== REPLICA_CIPHER || typeof o.sealed !== 'string') throw new SnapError('CATALOG', `${where} is not a linksnap replica pointer`);
    return { kind: 'sealed', sealed: Buffer.from(o.sealed, 'base64') };
  }
  return { kind: 'plain', head: parseHead(text, where) };
}

/** The envelope of an encrypted replica's HEAD: nothing but the sealed pointer. */
export function headEnvelope(sealed: Buffer): Buffer {
  const o = { format: REPLICA_FORMAT, version: ENCRYPTED_REPLICA_VERSION, encryption: REPLICA_CIPHER, sealed: sealed.toString('base64') };
  return Buffer.from(JSON.stringify(o) + '\n');
}

export function parseHead(text: string, where: string, maxVersion = REPLICA_VERSION): ReplicaHead {
  const v = parseJson(text, where);
  const o = v as Record<string, unknown>;
  if (!isCatalogRef(v) || o.format !== REPLICA_FORMAT) {
    throw new SnapError('CATALOG', `${where} is not a linksnap replica pointer`);
  }
  if (typeof o.version !== 'number' || o.version > maxVersion) {
    throw new SnapError('CATALOG', `${where} has replica format version ${String(o.version)}, newer than this linksnap understands`, {
      hint: 'upgrade linksnap',
    });
  }
  if (o.previous !== undefined && !isCatalogRef(o.previous)) throw new SnapError('CATALOG', `${where} has a malformed 'previous' entry`);
  if (o.sequence !== undefined && !(Number.isSafeInteger(o.sequence) && (o.sequence as number) >= 1)) throw new SnapError('CATALOG', `${where} has a malformed sequence`);
  return v as ReplicaHead;
}
