/**
 * `snap key list|add|remove s3://…`: the wrapped copies of an encrypted replica's master key.
 * Adding or removing one rewrites a few hundred bytes under keys/ and no blob or catalog: the
 * master key, and so everything sealed with it, stays the same (docs/replicas.md, "Keys").
 */
import { ReplicaClient } from '../../replica/client.js';
import { parseReplicaUrl, type ReplicaUrl } from '../../replica/url.js';
import { inspectReplica, unlock, type ReplicaKind, type SecretProvider } from '../../replica/open-replica.js';
import { isKeyId, wrapMasterKey, type Secret } from '../../replica/keys.js';
import { wrappedKeyKey } from '../../replica/layout.js';
import { SnapError } from '../../errors.js';

export interface KeyInfo {
  id: string;
  /** 'passphrase' (scrypt) or 'key-file' (HKDF) */
  kind: 'passphrase' | 'key-file';
  createdAt: string;
  kdf: string;
}

export interface KeyListing {
  url: string;
  keys: KeyInfo[];
}

interface KeyOptions {
  endpoint?: string;
  /** The current passphrase or key file: it must open a key that stays. */
  secret?: SecretProvider;
}

async function withEncrypted<T>(url: string, endpoint: string | undefined, fn: (client: ReplicaClient, r: ReplicaUrl, kind: ReplicaKind) => Promise<T>): Promise<T> {
  const r = parseReplicaUrl(url);
  const client = new ReplicaClient(r, { endpoint });
  try {
    await client.checkBucket();
    const kind = await inspectReplica(client, r);
    if (!kind.encrypted) {
      throw new SnapError('USAGE', `${r.url} is not an encrypted replica (no keys)`, { hint: 'make an encrypted replica with `snap push <root> s3://… --encrypt` to a new prefix' });
    }
    return await fn(client, r, kind);
  } finally {
    client.close();
  }
}

function infoOf(kind: ReplicaKind): KeyInfo[] {
  return kind.keys.map(({ wrapped: w }) => ({
    id: w.id,
    kind: w.kdf.name === 'scrypt' ? 'passphrase' : 'key-file',
    createdAt: w.createdAt,
    kdf: w.kdf.name === 'scrypt' ? `scrypt N=2^${w.kdf.logN} r=${w.kdf.r} p=${w.kdf.p}` : 'hkdf-sha256',
  }));
}

/** The wrapped keys; needs no secret (they say nothing but their kind and date). */
export async function listKeys(url: string, opts: { endpoint?: string } = {}): Promise<KeyListing> {
  return withEncrypted(url, opts.endpoint, async (_c, r, kind) => ({ url: r.url, keys: infoOf(kind) }));
}

function needSecret(opts: KeyOptions): SecretProvider {
  if (!opts.secret) throw new SnapError('BAD_KEY', 'no passphrase or key file was given');
  return opts.secret;
}

/** Wrap the master key (opened with the current secret) with `newSecret` as one more copy. */
export async function addKey(url: string, newSecret: () => Promise<Secret>, opts: KeyOptions = {}): Promise<KeyListing & { added: string }> {
  return withEncrypted(url, opts.endpoint, async (client, r, kind) => {
    const { master } = await unlock(kind, await needSecret(opts)({ url: r.url, confirm: false }), r.url);
    const wrapped = await wrapMasterKey(master, await newSecret());
    await client.putBuffer(wrappedKeyKey(r, wrapped.id), Buffer.from(JSON.stringify(wrapped, null, 2) + '\n'), 'application/json');
    const after = await inspectReplica(client, r);
    return { url: r.url, added: wrapped.id, keys: infoOf(after) };
  });
}

/**
 * Remove the copy `id`. The secret given must open one of the copies that stay, so that nobody
 * removes the last key they can open (and the last key of all is never removed).
 */
export async function removeKey(url: string, id: string, opts: KeyOptions = {}): Promise<KeyListing & { removed: string }> {
  if (!isKeyId(id)) throw new SnapError('USAGE', `not a key id: ${JSON.stringify(id)}`, { hint: '`snap key list s3://…` shows the ids (8 hex digits)' });
  return withEncrypted(url, opts.endpoint, async (client, r, kind) => {
    const target = kind.keys.find((k) => k.wrapped.id === id);
    if (!target) throw new SnapError('USAGE', `${r.url} has no key ${id}`, { hint: `its keys: ${kind.keys.map((k) => k.wrapped.id).join(' ')}` });
    if (kind.keys.length === 1) throw new SnapError('USAGE', `key ${id} is the only key of ${r.url}; removing it would make the replica unreadable`, { hint: 'add another first: snap key add' });
    const staying: ReplicaKind = { ...kind, keys: kind.keys.filter((k) => k !== target) };
    const secret = await needSecret(opts)({ url: r.url, confirm: false });
    try {
      await unlock(staying, secret, r.url);
    } catch (e) {
      if (e instanceof SnapError && e.code === 'BAD_KEY') {
        throw new SnapError('BAD_KEY', `the passphrase or key file given opens none of the keys that would remain after removing ${id}`, {
          hint: 'give the passphrase (or key file) of a key that stays; nothing was removed',
        });
      }
      throw e;
    }
    await client.deleteKeys([target.key]);
    return { url: r.url, removed: id, keys: infoOf(staying) };
  });
}
