/**
 * The exclude options shared by `take` (and `take --dry-run`) and `diff` against `.latest`:
 * `--exclude <pattern>` (repeatable), `--no-default-excludes`. `<root>/.snapignore` is always
 * read. See src/ops/take/excludes.ts for the rules and their order.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { buildExcludes, excludeFnOf, type ExcludeFn } from '../ops/take/excludes.js';
import { showName } from '../util/paths.js';
import { repeatable } from './options.js';

export interface ExcludeCliOptions {
  exclude?: string[];
  /** commander turns --no-default-excludes into defaultExcludes: false. */
  defaultExcludes?: boolean;
}

export function excludeOption(): Option {
  return new Option('--exclude <pattern>', 'leave out paths matching this gitignore-style pattern (repeatable); <root>/.snapignore is read too').argParser(repeatable);
}

export function noDefaultExcludesOption(): Option {
  return new Option('--no-default-excludes', "keep sync tools' temporary files (.syncthing.*.tmp, ~syncthing~*.tmp, *.!sync, .sync/), left out by default");
}

export function addExcludeOptions(cmd: Command): Command {
  return cmd.addOption(excludeOption()).addOption(noDefaultExcludesOption());
}

/**
 * The exclude predicate for a root, or undefined when no rule is active. With `onExcluded`,
 * every path left out is reported (for --verbose).
 */
export function excludesFor(
  rootArg: string,
  o: ExcludeCliOptions,
  onExcluded?: (shown: string) => void,
): ExcludeFn | undefined {
  const m = buildExcludes(path.resolve(rootArg), { patterns: o.exclude, defaults: o.defaultExcludes !== false });
  return excludeFnOf(m, onExcluded && ((rel, isDir) => onExcluded(showName(rel) + (isDir ? '/' : ''))));
}
