/**
 * The passphrase typed on a terminal (no LINKSNAP_PASSPHRASE, no --passphrase-file): the CLI runs
 * on a real pseudo-terminal (Python's pty module, the child's controlling terminal, so
 * /dev/tty is it), and the test types at the prompts. A new replica asks twice; the passphrase
 * is never echoed; two different answers write nothing; a wrong one opens nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';
import { startS3, type TestS3 } from '../helpers/s3-server.js';
import { parseReplicaUrl } from '../../src/replica/url.js';

const PYTHON = spawnSync('python3', ['-c', 'import pty, select'], { stdio: 'ignore' }).status === 0;
if (!PYTHON) console.warn('passphrase-prompt: python3 with the pty module is missing: the terminal prompt tests are skipped');

// Answers each prompt (output ending in ': ') with the next answer and a carriage return, as a
// person at a terminal in raw mode would; prints the exit status and everything the terminal showed.
const TYPIST = `
import json, os, pty, select, sys
answers = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
asked = 0
while True:
    ready, _, _ = select.select([fd], [], [], 60)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if out.rstrip(b' ').endswith(b':') and asked < len(answers):
        os.write(fd, answers[asked].encode() + b'\\r')
        asked += 1
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'screen': out.decode('utf-8', 'replace')}))
`;

let s3: TestS3;
beforeAll(async () => {
  if (PYTHON) s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

/** Run the CLI on a terminal, typing `answers` at its prompts (async: the S3 server runs in this process). */
function onTerminal(args: string[], answers: string[], stateDir: string): Promise<{ code: number; screen: string }> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...s3.env,
    LINKSNAP_NO_SYNC: '1',
    LINKSNAP_STATE_DIR: stateDir,
    LINKSNAP_SCRYPT_LOG_N: '12',
    LINKSNAP_PASSPHRASE: undefined,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const argv = [process.execPath, CLI, ...args, ...(s3.endpoint ? ['--endpoint', s3.endpoint] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', TYPIST, JSON.stringify(answers), ...argv], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as { code: number; screen: string });
      } catch {
        reject(new Error(`the terminal helper printed no result: ${out}`));
      }
    });
  });
}

function backupRoot(): string {
  const r = newRoot();
  fs.writeFileSync(path.join(r.latest, 'letter.txt'), 'dear diary\n');
  const t = spawnSync(process.execPath, [CLI, 'take', r.root, '-q'], { env: { ...process.env, LINKSNAP_NO_SYNC: '1' }, encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  return r.root;
}

describe.skipIf(!PYTHON)('passphrase typed at the terminal', () => {
  it('a new encrypted replica asks twice without echo; verify asks once; a wrong one opens nothing', async () => {
    const root = backupRoot();
    const url = s3.newUrl();
    const state = tempDir('linksnap-state-');
    const pass = 'typed at the keyboard 42';

    const push = await onTerminal(['push', root, url, '--encrypt', '-q'], [pass, pass], state);
    expect(push.code, push.screen).toBe(0);
    expect(push.screen).toContain(`new passphrase for ${url}: `);
    expect(push.screen).toContain('the same passphrase again: ');
    expect(push.screen).not.toContain(pass); // raw mode: nothing typed is shown
    const prefix = parseReplicaUrl(url).prefix;
    expect(s3.requests.some((q) => q.method === 'PUT' && q.path.includes(prefix))).toBe(true); // what the test below counts

    const ok = await onTerminal(['verify', url, '--sample', '100', '-q'], [pass], state);
    expect(ok.code, ok.screen).toBe(0);
    expect(ok.screen).toContain(`passphrase for ${url}: `);
    expect(ok.screen).not.toContain('the same passphrase again');

    const wrong = await onTerminal(['verify', url, '--sample', '100', '-q'], ['not the passphrase'], state);
    expect(wrong.code, wrong.screen).toBe(2);
    expect(wrong.screen).toMatch(/passphrase|key/i);
  }, 120_000);

  it('two different answers for a new replica: exit 2 and nothing is written to the bucket', async () => {
    const root = backupRoot();
    const url = s3.newUrl();
    const prefix = parseReplicaUrl(url).prefix;
    const r = await onTerminal(['push', root, url, '--encrypt', '-q'], ['first try', 'second try'], tempDir('linksnap-state-'));
    expect(r.code, r.screen).toBe(2);
    expect(r.screen).toContain('the two passphrases differ; nothing was written');
    expect(s3.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD' && q.path.includes(prefix))).toEqual([]);
  }, 120_000);
});
