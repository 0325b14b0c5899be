/**
 * Reading what a replica holds: its HEAD pointer and the list of its blobs. Used by push, pull
 * and replica verify.
 */
import type { ReplicaClient } from './client.js';
import type { ReplicaUrl } from './url.js';
import { blobsPrefix, catalogsPrefix, headKey, hexOfBlobKey, parseHead, type ReplicaHead } from './layout.js';
import { SnapError } from '../errors.js';

/** Read and parse <prefix>/HEAD; undefined for a prefix nothing was pushed to yet. */
export async function readHead(client: ReplicaClient, r: ReplicaUrl): Promise<ReplicaHead | undefined> {
  const text = await client.getText(headKey(r));
  if (text === undefined) return undefined;
  const head = parseHead(text, `${r.url}/HEAD`);
  if (!head.key.startsWith(catalogsPrefix(r))) throw new SnapError('CATALOG', `${r.url}/HEAD points outside the replica (${head.key})`);
  return head;
}

/** hex -> size of every blob the replica holds (one List request per 1000 blobs). */
export async function listRemoteBlobs(client: ReplicaClient, r: ReplicaUrl): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of client.list(blobsPrefix(r))) {
    const hex = hexOfBlobKey(r, o.key);
    if (hex) out.set(hex, o.size);
  }
  return out;
}
