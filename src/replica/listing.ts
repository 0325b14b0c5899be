/**
 * Reading what a replica holds: its HEAD pointer, its wrapped keys and the list of its blobs.
 * Used by push, pull, replica verify and key.
 */
import type { ReplicaClient } from './client.js';
import type { ReplicaUrl } from './url.js';
import { blobsPrefix, catalogsPrefix, headKey, hexOfBlobKey, keysPrefix, parseHeadObject, type HeadObject, type ReplicaHead } from './layout.js';
import { parseWrappedKey, type WrappedKey } from './keys.js';
import { SnapError } from '../errors.js';

/** Read and parse <prefix>/HEAD; undefined for a prefix nothing was pushed to yet. */
export async function readHeadObject(client: ReplicaClient, r: ReplicaUrl): Promise<HeadObject | undefined> {
  const text = await client.getText(headKey(r));
  if (text === undefined) return undefined;
  const o = parseHeadObject(text, `${r.url}/HEAD`);
  if (o.kind === 'plain') checkHeadTarget(o.head, r);
  return o;
}

/** HEAD may only name a catalog of this replica. */
export function checkHeadTarget(head: ReplicaHead, r: ReplicaUrl): void {
  if (!head.key.startsWith(catalogsPrefix(r))) throw new SnapError('CATALOG', `${r.url}/HEAD points outside the replica (${head.key})`);
}

/** Every wrapped copy of the master key under <prefix>/keys/ (none for a plain replica). */
export async function listWrappedKeys(client: ReplicaClient, r: ReplicaUrl): Promise<{ key: string; wrapped: WrappedKey }[]> {
  const out: { key: string; wrapped: WrappedKey }[] = [];
  for await (const o of client.list(keysPrefix(r))) {
    if (!o.key.endsWith('.json')) continue;
    const text = await client.getText(o.key);
    if (text !== undefined) out.push({ key: o.key, wrapped: parseWrappedKey(text, `${r.url}: ${o.key}`) });
  }
  return out;
}

/** name -> stored size of every blob the replica holds (one List request per 1000 blobs). */
export async function listRemoteBlobs(client: ReplicaClient, r: ReplicaUrl): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of client.list(blobsPrefix(r))) {
    const name = hexOfBlobKey(r, o.key);
    if (name) out.set(name, o.size);
  }
  return out;
}
