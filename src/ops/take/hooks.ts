/**
 * A take's hooks: the shell commands saved as `hooks.pre`, `hooks.post` and `hooks.failure`
 * (`snap config <root> hooks.pre='…'`), each run with `/bin/sh -c` (docs/operations.md, "Hooks").
 *
 * - Environment: ours plus LINKSNAP_ROOT and LINKSNAP_HOOK, and what take.ts adds per hook
 *   (LINKSNAP_SNAPSHOT for post; LINKSNAP_EXIT and LINKSNAP_ERROR for failure).
 * - Output: the hook's stdout and stderr both go to our stderr, so `take --json` and the path
 *   printed as the last stdout line stay clean, and cron mails what a hook says.
 * - A hook that fails, times out or cannot be started is an outcome (ok: false), never an
 *   exception: take.ts decides what it means (pre: nothing is taken; post: a warning).
 * - Time: `hooks.timeout` (default 1h) bounds each. A hook runs in its own process group, so a
 *   timeout stops the shell and everything it started: SIGTERM, then SIGKILL after 5 s.
 */
import { spawn } from 'node:child_process';
import { durationKind, readSetting } from '../shared/settings.js';
import { SnapError, errnoCode } from '../../errors.js';

export type HookName = 'pre' | 'post' | 'failure';

export interface HookSettings {
  pre?: string;
  post?: string;
  failure?: string;
  timeoutMs: number;
}

export interface HookOutcome {
  hook: HookName;
  command: string;
  /** The exit status, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ok: boolean;
  /** One line: `hooks.pre exited with status 3`, `hooks.post timed out after 10m and was killed`. */
  message: string;
  seconds: number;
}

/** Time between SIGTERM and SIGKILL for a hook that ran out of time. */
const KILL_GRACE_MS = 5_000;

export function hookSettings(saved: ReadonlyMap<string, string>): HookSettings {
  return {
    pre: readSetting(saved, 'hooks.pre'),
    post: readSetting(saved, 'hooks.post'),
    failure: readSetting(saved, 'hooks.failure'),
    timeoutMs: readSetting(saved, 'hooks.timeout'),
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    if (errnoCode(e) !== 'ESRCH') throw e; // the whole group is gone already
  }
}

function describe(hook: HookName, status: number | null, signal: NodeJS.Signals | null, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `hooks.${hook} timed out after ${durationKind.format(timeoutMs)} and was killed`;
  if (signal) return `hooks.${hook} was killed by ${signal}`;
  return `hooks.${hook} exited with status ${status}`;
}

/** Run one hook to its end (or its timeout); a hook that fails is an outcome, not an exception. */
export function runHook(hook: HookName, command: string, env: Record<string, string>, timeoutMs: number): Promise<HookOutcome> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', 2, 2],
      env: { ...process.env, LINKSNAP_HOOK: hook, ...env },
      detached: true, // its own process group: a timeout reaches what the shell started too
    });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child.pid!, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    // Only when the shell itself cannot be started: a failed outcome like any other.
    child.on('error', (e) => {
      clearTimeout(timer);
      const message = `hooks.${hook} could not be started: ${e.message}`;
      resolve({ hook, command, status: null, signal: null, timedOut: false, ok: false, message, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    });
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      // The shell is gone; after a timeout nothing it started may outlive it (holding our stderr open).
      if (timedOut) signalGroup(child.pid!, 'SIGKILL');
      const ok = !timedOut && status === 0;
      resolve({
        hook,
        command,
        status,
        signal,
        timedOut,
        ok,
        message: describe(hook, status, signal, timedOut, timeoutMs),
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      });
    });
  });
}

/** The error a failed hooks.pre ends the take with: nothing was taken. */
export function preHookError(o: HookOutcome, root: string): SnapError {
  return new SnapError('HOOK_FAILED', `${o.message}; nothing was taken`, {
    hint: `its output is above; fix the command (snap config ${root} hooks.pre='…'), or take once without hooks: snap take ${root} --no-hooks`,
  });
}
