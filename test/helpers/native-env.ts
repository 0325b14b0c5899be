import { vi } from 'vitest';

/**
 * A fresh copy of a module loaded with LINKSNAP_NATIVE set to `native` (src/util/fsat.ts picks
 * the native helper or its fs fallback when it loads), so one test file can test both.
 */
export async function loadWithNative<T>(native: '0' | '1', load: () => Promise<T>): Promise<T> {
  const before = process.env.LINKSNAP_NATIVE;
  process.env.LINKSNAP_NATIVE = native;
  vi.resetModules();
  try {
    return await load();
  } finally {
    if (before === undefined) delete process.env.LINKSNAP_NATIVE;
    else process.env.LINKSNAP_NATIVE = before;
  }
}
