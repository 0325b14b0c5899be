/** Settings shared by push, pull and replica verify; kept apart so the CLI can show them
 * without loading the AWS SDK (which costs ~0.1 s of start-up for every command). */
export const DEFAULT_CONCURRENCY = 4;

/** Progress of a push, pull or replica verify, for the CLI's progress line. */
export interface TransferProgress {
  phase: 'upload' | 'download' | 'verify';
  doneBlobs: number;
  totalBlobs: number;
  doneBytes: number;
  totalBytes: number;
}
