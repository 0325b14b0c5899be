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
  // Every subcommand reports usage errors with exit code 2, like the top level.
  for (const cmd of program.commands) cmd.exitOverride();
  program.exitOverride();
  return program;
}

async function main(): Promise<void> {
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
