#!/usr/bin/env node
/**
 * The `snap` (alias `linksnap`) command line. Parses, calls ops, renders; the only place that
 * chooses exit codes (src/cli/exit-codes.ts).
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { EXIT, EXIT_HELP } from './exit-codes.js';
import { registerTake } from './commands/take.js';
import { registerList } from './commands/list.js';
import { registerPrune } from './commands/prune.js';
import { registerGc } from './commands/gc.js';
import { registerPin } from './commands/pin.js';
import { registerConfig } from './commands/config.js';
import { registerPush } from './commands/push.js';
import { registerPull } from './commands/pull.js';
import { registerRestore } from './commands/restore.js';
import { registerDiff } from './commands/diff.js';
import { registerLog } from './commands/log.js';
import { registerFind } from './commands/find.js';
import { registerStats } from './commands/stats.js';
import { registerStatus } from './commands/status.js';
import { registerInit } from './commands/init.js';
import { registerVerify } from './commands/verify.js';
import { registerMaterialize } from './commands/materialize.js';
import { registerKey } from './commands/key.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('snap')
    .description('Rotating, content-addressed, hard-linked snapshots of <root>/.latest, browsable with ls and cp.')
    .version(version)
    .showHelpAfterError('(run `snap --help` or `snap <command> --help` for usage)')
    .addHelpText('after', '\n' + EXIT_HELP + '\n\nDocs: docs/cli.md, docs/operations.md');
  registerTake(program);
  registerList(program);
  registerPrune(program);
  registerGc(program);
  registerPin(program);
  registerConfig(program);
  registerPush(program);
  registerPull(program);
  registerInit(program);
  registerRestore(program);
  registerDiff(program);
  registerLog(program);
  registerFind(program);
  registerStats(program);
  registerStatus(program);
  registerVerify(program);
  registerMaterialize(program);
  registerKey(program);
  // Every subcommand reports usage errors with exit code 2, like the top level.
  for (const cmd of program.commands) cmd.exitOverride();
  program.exitOverride();
  return program;
}

/**
 * `snap diff … | head` closes the pipe early: that is the reader's choice, not an error. Stop
 * quietly (exit 0, like other Unix tools that die of SIGPIPE would be treated by a shell).
 */
function quietOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

async function main(): Promise<void> {
  quietOnBrokenPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is a usage error.
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      process.exitCode = ok ? EXIT.OK : EXIT.USAGE;
      return;
    }
    throw e;
  }
}

void main();
