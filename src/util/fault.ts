/**
 * Fault injection for crash tests. With LINKSNAP_CRASH_AFTER=K in the environment the process
 * kills itself with SIGKILL at the K-th fault point it passes (optionally only points whose
 * name matches LINKSNAP_CRASH_AT, a regular expression). Fault points sit between the file and
 * catalog operations whose order the crash guarantees depend on. Without the variable this is
 * one comparison per call.
 */
const limit = Number(process.env.LINKSNAP_CRASH_AFTER ?? 0);
const only = process.env.LINKSNAP_CRASH_AT ? new RegExp(process.env.LINKSNAP_CRASH_AT) : undefined;
let passed = 0;

export function faultPoint(name: string): void {
  if (limit <= 0) return;
  if (only && !only.test(name)) return;
  if (++passed >= limit) {
    if (process.env.LINKSNAP_CRASH_LOG) {
      // Synchronous, so it is on disk before the kill.
      process.stderr.write(`linksnap: crashing at fault point ${passed} (${name})\n`);
    }
    process.kill(process.pid, 'SIGKILL');
  }
}
