/**
 * Where an encrypted replica's passphrase or key file comes from, short of a prompt (which is
 * the CLI's): --key-file, --passphrase-file, or $LINKSNAP_PASSPHRASE, in that order.
 */
import fs from 'node:fs';
import { SnapError, errnoCode } from '../errors.js';
import { MIN_KEY_FILE_BYTES, type Secret } from './keys.js';

export interface SecretSources {
  keyFile?: string;
  passphraseFile?: string;
  /** The environment variable holding a passphrase (LINKSNAP_PASSPHRASE by default). */
  envName?: string;
}

export const NO_SECRET_HINT = 'set LINKSNAP_PASSPHRASE, or pass --passphrase-file <path> or --key-file <path>, or run it on a terminal to be asked';

function readSecretFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new SnapError('BAD_KEY', `cannot read the ${what} ${file} (${code})`);
    throw e;
  }
}

/** A passphrase as typed or stored: one trailing line break is not part of it. */
export function passphrase(raw: Buffer, where: string): Secret {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  if (end === 0) throw new SnapError('BAD_KEY', `the passphrase from ${where} is empty`);
  return { kind: 'passphrase', value: raw.subarray(0, end) };
}

/** The secret the options or the environment give, or undefined when none does. */
export function secretFromSources(o: SecretSources): Secret | undefined {
  const envName = o.envName ?? 'LINKSNAP_PASSPHRASE';
  if (o.keyFile !== undefined && o.passphraseFile !== undefined) {
    throw new SnapError('USAGE', 'give either a key file or a passphrase file, not both');
  }
  if (o.keyFile !== undefined) {
    const value = readSecretFile(o.keyFile, 'key file');
    if (value.length < MIN_KEY_FILE_BYTES) {
      throw new SnapError('BAD_KEY', `the key file ${o.keyFile} holds ${value.length} bytes; a key file needs at least ${MIN_KEY_FILE_BYTES} random bytes`, {
        hint: `make one with: head -c 32 /dev/urandom > ${o.keyFile}`,
      });
    }
    return { kind: 'key-file', value };
  }
  if (o.passphraseFile !== undefined) return passphrase(readSecretFile(o.passphraseFile, 'passphrase file'), o.passphraseFile);
  const env = process.env[envName];
  if (env !== undefined && env !== '') return passphrase(Buffer.from(env), `$${envName}`);
  return undefined;
}
