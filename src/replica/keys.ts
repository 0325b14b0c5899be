/**
 * Keys of an encrypted replica (docs/replicas.md, "Encrypted replicas"):
 *
 * - one random 32-byte master key per replica, never stored in clear;
 * - wrapped copies of it, `<prefix>/keys/<id>.json`, each sealed (AES-256-GCM) with a key
 *   derived from a passphrase (scrypt, parameters stored beside it) or from a key file
 *   (HKDF-SHA256: a key file is already random). Adding or removing a copy touches no data;
 * - purpose keys separated by HKDF-SHA256 from the master key: blob contents, catalogs, HEAD,
 *   blob names (HMAC-SHA256), and the id under which this machine remembers the replica's
 *   newest state (rollback detection).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { SnapError } from '../errors.js';

export const KEY_FORMAT = 'linksnap-replica-key';
const KEY_VERSION = 1;
const MASTER_BYTES = 32;
/** A key file must hold at least this many bytes (it is used as key material as is). */
export const MIN_KEY_FILE_BYTES = 32;

/** scrypt cost: 2^17 x 8 x 128 B = 128 MiB of memory, ~0.3-0.5 s on a current CPU. */
const SCRYPT_LOG_N = 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
/** What a key found in a bucket may ask for (its own copy is attacker-writable). */
const MAX_LOG_N = 22;
const MAX_R = 32;
const MAX_P = 16;

export type Secret = { kind: 'passphrase'; value: Buffer } | { kind: 'key-file'; value: Buffer };

export type KdfParams = { name: 'scrypt'; salt: string; logN: number; r: number; p: number } | { name: 'hkdf-sha256'; salt: string };

export interface WrappedKey {
  format: typeof KEY_FORMAT;
  version: number;
  id: string;
  createdAt: string;
  kdf: KdfParams;
  /** base64 of nonce (12) || AES-256-GCM(master key) || tag (16) */
  wrapped: string;
}

export interface PurposeKeys {
  content: Buffer;
  catalog: Buffer;
  head: Buffer;
  names: Buffer;
  /** Not secret: names this replica in the local rollback state. */
  stateId: string;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_BYTES);
}

function derive(master: Buffer, purpose: string, n = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), Buffer.from(`linksnap-replica ${purpose}`), n));
}

export function purposeKeys(master: Buffer): PurposeKeys {
  return {
    content: derive(master, 'blob contents'),
    catalog: derive(master, 'catalogs'),
    head: derive(master, 'HEAD'),
    names: derive(master, 'blob names'),
    stateId: derive(master, 'state id', 16).toString('hex'),
  };
}

/** The parameters for a new wrapped copy; LINKSNAP_SCRYPT_LOG_N lowers the cost (tests). */
function newKdf(secret: Secret): KdfParams {
  const salt = randomBytes(32).toString('base64');
  if (secret.kind === 'key-file') return { name: 'hkdf-sha256', salt };
  const env = Number(process.env.LINKSNAP_SCRYPT_LOG_N);
  const logN = Number.isInteger(env) && env >= 10 && env <= MAX_LOG_N ? env : SCRYPT_LOG_N;
  return { name: 'scrypt', salt, logN, r: SCRYPT_R, p: SCRYPT_P };
}

function scrypt(pass: Buffer, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(pass, salt, 32, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

/** The key-encryption key for `secret` under `kdf`; undefined when the kinds differ. */
async function wrappingKey(secret: Secret, kdf: KdfParams): Promise<Buffer | undefined> {
  const salt = Buffer.from(kdf.salt, 'base64');
  if (kdf.name === 'hkdf-sha256') {
    if (secret.kind !== 'key-file') return undefined;
    return Buffer.from(hkdfSync('sha256', secret.value, salt, Buffer.from('linksnap-replica key-file wrap'), 32));
  }
  if (secret.kind !== 'passphrase') return undefined;
  const N = 2 ** kdf.logN;
  return scrypt(secret.value, salt, { N, r: kdf.r, p: kdf.p, maxmem: 256 * N * kdf.r });
}

function aadOf(id: string, kdf: KdfParams): Buffer {
  return Buffer.from(`${KEY_FORMAT}/${KEY_VERSION} ${id} ${JSON.stringify(kdf)}`);
}

export async function wrapMasterKey(master: Buffer, secret: Secret): Promise<WrappedKey> {
  const id = randomBytes(4).toString('hex');
  const kdf = newKdf(secret);
  const kek = (await wrappingKey(secret, kdf))!;
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(aadOf(id, kdf));
  const body = Buffer.concat([c.update(master), c.final()]);
  return {
    format: KEY_FORMAT,
    version: KEY_VERSION,
    id,
    createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kdf,
    wrapped: Buffer.concat([iv, body, c.getAuthTag()]).toString('base64'),
  };
}

/** The master key if `secret` opens this copy, else undefined. */
export async function unwrapMasterKey(w: WrappedKey, secret: Secret): Promise<Buffer | undefined> {
  const kek = await wrappingKey(secret, w.kdf);
  if (!kek) return undefined;
  const raw = Buffer.from(w.wrapped, 'base64');
  if (raw.length !== 12 + MASTER_BYTES + 16) return undefined;
  const d = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12));
  d.setAAD(aadOf(w.id, w.kdf));
  d.setAuthTag(raw.subarray(12 + MASTER_BYTES));
  const master = d.update(raw.subarray(12, 12 + MASTER_BYTES));
  try {
    d.final();
  } catch (e) {
    if (e instanceof Error && /authenticate/i.test(e.message)) return undefined;
    throw e;
  }
  return master;
}

const ID_RE = /^[0-9a-f]{8}$/;

function isKdf(v: unknown): v is KdfParams {
  const k = v as Record<string, unknown>;
  if (typeof k !== 'object' || k === null || typeof k.salt !== 'string') return false;
  if (k.name === 'hkdf-sha256') return true;
  return (
    k.name === 'scrypt' &&
    Number.isInteger(k.logN) && (k.logN as number) >= 1 && (k.logN as number) <= MAX_LOG_N &&
    Number.isInteger(k.r) && (k.r as number) >= 1 && (k.r as number) <= MAX_R &&
    Number.isInteger(k.p) && (k.p as number) >= 1 && (k.p as number) <= MAX_P
  );
}

export function parseWrappedKey(text: string, where: string): WrappedKey {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new SnapError('CATALOG', `${where} is not a linksnap replica key (not JSON)`);
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== KEY_FORMAT || typeof o.id !== 'string' || !ID_RE.test(o.id) || typeof o.wrapped !== 'string' || !isKdf(o.kdf)) {
    throw new SnapError('CATALOG', `${where} is not a linksnap replica key`);
  }
  if (typeof o.version !== 'number' || o.version > KEY_VERSION) {
    throw new SnapError('CATALOG', `${where} has key format version ${String(o.version)}, newer than this linksnap understands`, { hint: 'upgrade linksnap' });
  }
  return { ...(v as WrappedKey), createdAt: typeof o.createdAt === 'string' ? o.createdAt : '' };
}

export function isKeyId(s: string): boolean {
  return ID_RE.test(s);
}
