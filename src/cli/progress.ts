/**
 * Progress on long work (take now; verify, materialize and gc can reuse it): files and bytes
 * done, rate and ETA on one redrawn stderr line — only when stderr is a terminal, so cron mail
 * and logs stay clean. Ops report through a plain callback (`ProgressFn`) and never know whether
 * anything is drawn.
 *
 *   const progress = startProgress({ label: 'take', quiet: o.quiet });
 *   await op({ onProgress: progress.update });
 *   progress.stop();
 *
 * LINKSNAP_PROGRESS=always draws even when stderr is not a terminal (tests, `script` logs);
 * LINKSNAP_PROGRESS=never never draws.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

export interface ProgressState {
  doneBytes: number;
  /** 0 or undefined when unknown: then no percentage and no ETA, just counts and rate. */
  totalBytes?: number;
  doneItems: number;
  totalItems?: number;
}

export type ProgressFn = (p: ProgressState) => void;

export interface Progress {
  update: ProgressFn;
  /** Remove the line (the command prints its own summary afterwards). Safe to call twice. */
  stop(): void;
  /** Whether anything is drawn at all. */
  readonly active: boolean;
}

export interface ProgressOptions {
  label: string;
  /** The unit of items in the line: 'files' (default), 'objects', ... */
  itemName?: string;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The text of one progress line. Pure, so it is tested without a terminal. The ETA follows the
 * byte rate when bytes are known (files vary too much in size to predict by count).
 */
export function formatProgressLine(label: string, p: ProgressState, elapsedSec: number, itemName = 'files'): string {
  const rate = elapsedSec > 0 ? p.doneBytes / elapsedSec : 0;
  const items = p.totalItems ? `${p.doneItems}/${p.totalItems} ${itemName}` : `${p.doneItems} ${itemName}`;
  const bytes = p.totalBytes ? `${formatBytes(p.doneBytes)}/${formatBytes(p.totalBytes)}` : formatBytes(p.doneBytes);
  let pct = '';
  let eta = '';
  if (p.totalBytes && p.totalBytes > 0) {
    const frac = Math.min(1, p.doneBytes / p.totalBytes);
    pct = ` ${Math.floor(frac * 100)}%`;
    eta = ` ETA ${rate > 0 ? formatEta((p.totalBytes - p.doneBytes) / rate) : '--'}`;
  } else if (p.totalItems && p.totalItems > 0) {
    const frac = Math.min(1, p.doneItems / p.totalItems);
    pct = ` ${Math.floor(frac * 100)}%`;
    const itemRate = elapsedSec > 0 ? p.doneItems / elapsedSec : 0;
    eta = ` ETA ${itemRate > 0 ? formatEta((p.totalItems - p.doneItems) / itemRate) : '--'}`;
  }
  return `${label}:${pct} ${items}, ${bytes}, ${formatBytes(Math.round(rate))}/s${eta}`;
}

function shouldDraw(stream: NodeJS.WriteStream, quiet: boolean | undefined): boolean {
  const env = process.env.LINKSNAP_PROGRESS;
  if (env === 'never' || quiet) return false;
  if (env === 'always') return true;
  return stream.isTTY === true;
}

const inactive: Progress = { update: () => {}, stop: () => {}, active: false };

export function startProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  if (!shouldDraw(stream, opts.quiet)) return inactive;
  const started = Date.now();
  let last: ProgressState = { doneBytes: 0, doneItems: 0 };
  const bar = new cliProgress.SingleBar({
    stream,
    fps: 5,
    clearOnComplete: true,
    hideCursor: false,
    linewrap: false,
    // Outside a terminal (LINKSNAP_PROGRESS=always) cli-progress would draw nothing.
    noTTYOutput: stream.isTTY !== true,
    notTTYSchedule: 1000,
    format: () => formatProgressLine(opts.label, last, (Date.now() - started) / 1000, opts.itemName),
  });
  bar.start(1, 0);
  let stopped = false;
  return {
    active: true,
    update(p) {
      if (stopped) return;
      last = p;
      bar.update(0); // the format function reads `last`; cli-progress throttles the redraws
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
