/**
 * `snap key list|add|remove s3://…`, and the passphrase options every command on an encrypted
 * replica shares: --key-file, --passphrase-file, $LINKSNAP_PASSPHRASE, else a prompt on the
 * terminal (no echo), else exit 2 naming the three ways.
 */
import fs from 'node:fs';
import tty from 'node:tty';
import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';
import { SnapError, errnoCode } from '../../errors.js';
import { NO_SECRET_HINT, passphrase, secretFromSources, type SecretSources } from '../../replica/secret.js';
import type { Secret } from '../../replica/keys.js';
import type { SecretProvider } from '../../replica/open-replica.js';
import { lazy } from '../lazy.js';

// The AWS SDK loads only when a replica command runs.
const listKeys = lazy(() => import('../../ops/replica/key.js'), 'listKeys');
const addKey = lazy(() => import('../../ops/replica/key.js'), 'addKey');
const removeKey = lazy(() => import('../../ops/replica/key.js'), 'removeKey');

export interface SecretFlags {
  passphraseFile?: string;
  keyFile?: string;
}

export function addSecretOptions(cmd: Command): Command {
  return cmd
    .option('--passphrase-file <path>', 'encrypted replicas: read the passphrase from this file (else $LINKSNAP_PASSPHRASE, else asked on the terminal)')
    .option('--key-file <path>', 'encrypted replicas: open it with this key file (32 or more random bytes) instead of a passphrase');
}

/**
 * Read one line per question from the terminal without echoing it (all in one raw-mode session,
 * so a line typed ahead is kept for the next question); undefined when there is no terminal.
 */
async function promptHidden(questions: string[]): Promise<Buffer[] | undefined> {
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'r+');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENXIO' || code === 'ENOENT' || code === 'EACCES' || code === 'ENODEV') return undefined;
    throw e;
  }
  const input = new tty.ReadStream(fd);
  input.setRawMode(true);
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const answers: Buffer[] = [];
      let line: number[] = [];
      const ask = () => fs.writeSync(fd, (answers.length ? '\n' : '') + questions[answers.length]!);
      ask();
      input.on('data', (chunk: Buffer) => {
        for (const b of chunk) {
          if (b === 0x03 || b === 0x04) return reject(new SnapError('USAGE', 'cancelled; nothing was written'));
          if (b === 0x0d || b === 0x0a) {
            answers.push(Buffer.from(line));
            line = [];
            if (answers.length === questions.length) return resolve(answers);
            ask();
          } else if (b === 0x7f || b === 0x08) line.pop();
          else line.push(b);
        }
      });
      input.on('end', () => reject(new SnapError('USAGE', 'the terminal closed before a passphrase was typed')));
      input.on('error', reject);
    });
  } finally {
    input.setRawMode(false);
    fs.writeSync(fd, '\n');
    input.destroy();
  }
}

/** Ask on the terminal (twice for a new one), or fail naming the ways to give a secret. */
async function askSecret(question: string, confirm: boolean, url: string): Promise<Secret> {
  const typed = await promptHidden(confirm ? [question, 'the same passphrase again: '] : [question]);
  if (typed === undefined) throw new SnapError('BAD_KEY', `${url} needs a passphrase: ${NO_SECRET_HINT}`);
  const s = passphrase(typed[0]!, 'the terminal');
  if (confirm && !passphrase(typed[1]!, 'the terminal').value.equals(s.value)) {
    throw new SnapError('BAD_KEY', 'the two passphrases differ; nothing was written');
  }
  return s;
}

/** The provider ops call when (and only when) a replica turns out to be encrypted. */
export function secretProvider(o: SecretFlags): SecretProvider {
  return async ({ url, confirm }) =>
    secretFromSources({ keyFile: o.keyFile, passphraseFile: o.passphraseFile }) ??
    askSecret(confirm ? `new passphrase for ${url}: ` : `passphrase for ${url}: `, confirm, url);
}

function newSecretProvider(o: { newPassphraseFile?: string; newKeyFile?: string }, url: string): () => Promise<Secret> {
  const sources: SecretSources = { keyFile: o.newKeyFile, passphraseFile: o.newPassphraseFile, envName: 'LINKSNAP_NEW_PASSPHRASE' };
  return async () => secretFromSources(sources) ?? askSecret(`new passphrase for ${url}: `, true, url);
}

function renderKeys(keys: { id: string; kind: string; createdAt: string; kdf: string }[]): string {
  return keys.map((k) => `${k.id}  ${k.kind.padEnd(10)}  ${k.createdAt || '-'}  ${k.kdf}\n`).join('');
}

export function registerKey(program: Command): void {
  const key = program
    .command('key')
    .description("manage the passphrases and key files that open an encrypted replica (no data is re-uploaded)")
    .addHelpText('after', '\nSee docs/replicas.md, "Encrypted replicas".');

  key
    .command('list')
    .description('list the wrapped keys of an encrypted replica (id, kind, date); needs no passphrase')
    .argument('<replica>', 's3://<bucket>/<prefix>')
    .option('--endpoint <url>', 'S3-compatible server; default: AWS or $AWS_ENDPOINT_URL')
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (url: string, o: { endpoint?: string; json?: boolean }) => {
        const r = await listKeys(url, { endpoint: o.endpoint });
        io.out(o.json ? toJson(r) : renderKeys(r.keys));
        return EXIT.OK;
      }),
    );

  addSecretOptions(
    key
      .command('add')
      .description('add a passphrase or key file that opens the replica (opened with a current one)')
      .argument('<replica>', 's3://<bucket>/<prefix>')
      .option('--endpoint <url>', 'S3-compatible server; default: AWS or $AWS_ENDPOINT_URL'),
  )
    .option('--new-passphrase-file <path>', 'the new passphrase, from this file (else $LINKSNAP_NEW_PASSPHRASE, else asked twice)')
    .option('--new-key-file <path>', 'a new key file (32 or more random bytes) instead of a new passphrase')
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (url: string, o: SecretFlags & { endpoint?: string; newPassphraseFile?: string; newKeyFile?: string; json?: boolean }) => {
        const r = await addKey(url, newSecretProvider(o, url), { endpoint: o.endpoint, secret: secretProvider(o) });
        if (o.json) io.out(toJson(r));
        else io.out(`${r.added}\n`);
        return EXIT.OK;
      }),
    );

  addSecretOptions(
    key
      .command('remove')
      .description('remove a key; the passphrase or key file given must open one of the keys that stay')
      .argument('<replica>', 's3://<bucket>/<prefix>')
      .argument('<id>', 'the key id, from `snap key list`')
      .option('--endpoint <url>', 'S3-compatible server; default: AWS or $AWS_ENDPOINT_URL'),
  )
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (url: string, id: string, o: SecretFlags & { endpoint?: string; json?: boolean }) => {
        const r = await removeKey(url, id, { endpoint: o.endpoint, secret: secretProvider(o) });
        if (o.json) io.out(toJson(r));
        return EXIT.OK;
      }),
    );
}
