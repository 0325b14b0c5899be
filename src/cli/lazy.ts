/**
 * A command's ops, loaded when the command runs: `snap list` must not pay for loading what
 * `take`, `verify` or `restore` need (the CLI's start-up is part of every command's time, and
 * of every no-change take's; docs/benchmarks.md).
 */
export function lazy<M, K extends keyof M>(
  load: () => Promise<M>,
  name: K,
): M[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never {
  return (async (...a: unknown[]) => ((await load())[name] as (...x: unknown[]) => unknown)(...a)) as never;
}
