/**
 * An in-process record of the durability-relevant steps (flush, commit, rename), so tests can
 * check the order the crash guarantees rely on. Off unless a test starts it.
 */
let events: string[] | undefined;

export function trace(event: string): void {
  events?.push(event);
}

export function startTrace(): void {
  events = [];
}

export function stopTrace(): string[] {
  const e = events ?? [];
  events = undefined;
  return e;
}
