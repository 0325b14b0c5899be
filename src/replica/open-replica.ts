/**
 * Which kind a replica is, read from the replica itself, and opening an encrypted one: a replica
 * is encrypted when its HEAD is a sealed envelope or it holds wrapped keys (a first encrypted
 * push writes its key before any blob, so an interrupted one is recognised too).
 */
import type { ReplicaClient } from './client.js';
import type { ReplicaUrl } from './url.js';
import type { HeadObject, ReplicaHead } from './layout.js';
import { EncryptedCodec, plainCodec, type ReplicaCodec } from './codec.js';
import { unwrapMasterKey, type Secret, type WrappedKey } from './keys.js';
import { checkHeadTarget, listWrappedKeys, readHeadObject } from './listing.js';
import { AuthFailure } from './sealed-stream.js';
import { SnapError } from '../errors.js';

/** Asks for the secret only when it is needed; `confirm` for a new key (type it twice). */
export type SecretProvider = (why: { url: string; confirm: boolean }) => Promise<Secret>;

export interface ReplicaKind {
  headObject: HeadObject | undefined;
  keys: { key: string; wrapped: WrappedKey }[];
  encrypted: boolean;
}

export async function inspectReplica(client: ReplicaClient, r: ReplicaUrl): Promise<ReplicaKind> {
  const headObject = await readHeadObject(client, r);
  const keys = await listWrappedKeys(client, r);
  if (headObject?.kind === 'plain' && keys.length > 0) {
    throw new SnapError('CATALOG', `${r.url} has a plain HEAD but holds encryption keys (keys/): it is damaged or tampered with`);
  }
  if (headObject?.kind === 'sealed' && keys.length === 0) {
    throw new SnapError('BAD_KEY', `${r.url} is encrypted but holds no key (keys/ is empty): it cannot be opened`, {
      hint: 'restore the keys/ objects from a copy of the bucket (or a versioned bucket)',
    });
  }
  return { headObject, keys, encrypted: headObject?.kind === 'sealed' || keys.length > 0 };
}

/** The master key from whichever wrapped copy `secret` opens; BAD_KEY when none does. */
export async function unlock(kind: ReplicaKind, secret: Secret, url: string): Promise<{ master: Buffer; id: string }> {
  for (const k of kind.keys) {
    const master = await unwrapMasterKey(k.wrapped, secret);
    if (master) return { master, id: k.wrapped.id };
  }
  const what = secret.kind === 'key-file' ? 'key file' : 'passphrase';
  throw new SnapError('BAD_KEY', `wrong ${what}: it opens none of the ${kind.keys.length} key${kind.keys.length === 1 ? '' : 's'} of ${url}`, {
    hint: 'nothing was written; `snap key list` shows which kinds of keys the replica has',
  });
}

/** The current pointer, opened with the codec; a HEAD that fails authentication is CATALOG. */
export async function headOf(kind: ReplicaKind, codec: ReplicaCodec, r: ReplicaUrl): Promise<ReplicaHead | undefined> {
  const o = kind.headObject;
  if (!o) return undefined;
  if (o.kind === 'plain') return o.head;
  try {
    const head = await (codec as EncryptedCodec).openHead(o.sealed, `${r.url}/HEAD`);
    checkHeadTarget(head, r);
    return head;
  } catch (e) {
    if (e instanceof AuthFailure) throw new SnapError('CATALOG', e.message, { hint: e.hint });
    throw e;
  }
}

export interface OpenedReplica {
  kind: ReplicaKind;
  codec: ReplicaCodec;
  /** undefined for a prefix nothing was pushed to yet */
  head: ReplicaHead | undefined;
}

/** Inspect, ask for the secret if the replica is encrypted, unlock; for pull, verify and key. */
export async function openReplica(client: ReplicaClient, r: ReplicaUrl, secret: SecretProvider | undefined): Promise<OpenedReplica> {
  const kind = await inspectReplica(client, r);
  if (!kind.encrypted) return { kind, codec: plainCodec, head: kind.headObject?.kind === 'plain' ? kind.headObject.head : undefined };
  if (!secret) throw new SnapError('BAD_KEY', `${r.url} is encrypted and no passphrase or key file was given`);
  const { master } = await unlock(kind, await secret({ url: r.url, confirm: false }), r.url);
  const codec = new EncryptedCodec(master);
  return { kind, codec, head: await headOf(kind, codec, r) };
}
