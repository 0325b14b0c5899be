/**
 * Wrapped master keys (src/replica/keys.ts) and purpose keys: a passphrase or key file opens
 * only its own copy; an edited copy (its id or KDF parameters) no longer opens; a hostile copy
 * cannot ask for absurd scrypt costs; purpose keys differ.
 */
import { describe, expect, it } from 'vitest';
import { newMasterKey, parseWrappedKey, purposeKeys, unwrapMasterKey, wrapMasterKey, type Secret } from '../../src/replica/keys.js';
import { SnapError } from '../../src/errors.js';

process.env.LINKSNAP_SCRYPT_LOG_N = '10';
const pass = (s: string): Secret => ({ kind: 'passphrase', value: Buffer.from(s) });
const file = (b: number): Secret => ({ kind: 'key-file', value: Buffer.alloc(32, b) });

describe('wrapped keys', () => {
  it('open with their own passphrase or key file only', async () => {
    const master = newMasterKey();
    const w = await wrapMasterKey(master, pass('right'));
    expect(w.kdf).toMatchObject({ name: 'scrypt', logN: 10, r: 8, p: 1 });
    expect((await unwrapMasterKey(w, pass('right')))?.equals(master)).toBe(true);
    expect(await unwrapMasterKey(w, pass('wrong'))).toBeUndefined();
    expect(await unwrapMasterKey(w, file(1))).toBeUndefined();
    const k = await wrapMasterKey(master, file(1));
    expect(k.kdf.name).toBe('hkdf-sha256');
    expect((await unwrapMasterKey(k, file(1)))?.equals(master)).toBe(true);
    expect(await unwrapMasterKey(k, file(2))).toBeUndefined();
    expect(JSON.stringify(w)).not.toContain(master.toString('base64'));
  });

  it('an edited id or KDF parameter breaks the wrapping', async () => {
    const master = newMasterKey();
    const w = await wrapMasterKey(master, pass('right'));
    expect(await unwrapMasterKey({ ...w, id: '00000000' }, pass('right'))).toBeUndefined();
    const other = { ...w, kdf: { ...w.kdf, salt: Buffer.alloc(32).toString('base64') } };
    expect(await unwrapMasterKey(other, pass('right'))).toBeUndefined();
  });

  it('refuses a key object that asks for more than the bounded scrypt cost, or is not one', async () => {
    const w = await wrapMasterKey(newMasterKey(), pass('x'));
    const text = (kdf: object) => JSON.stringify({ ...w, kdf: { ...w.kdf, ...kdf } });
    expect(() => parseWrappedKey(text({ logN: 40 }), 'k')).toThrow(SnapError);
    expect(() => parseWrappedKey(text({ r: 1000 }), 'k')).toThrow(SnapError);
    expect(() => parseWrappedKey('{"format":"linksnap-replica-key"}', 'k')).toThrow(/not a linksnap replica key/);
    expect(() => parseWrappedKey('nope', 'k')).toThrow(/not JSON/);
    expect(parseWrappedKey(JSON.stringify(w), 'k').id).toBe(w.id);
  });

  it('derives a different key for every purpose', () => {
    const k = purposeKeys(newMasterKey());
    const all = [k.content, k.catalog, k.head, k.names].map((b) => b.toString('hex'));
    expect(new Set(all).size).toBe(4);
  });
});
