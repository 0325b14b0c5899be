/**
 * The one module that wraps BLAKE3. linksnap prefers the native `@napi-rs/blake-hash` binding
 * (~2.9 GB/s here) and falls back to `blake3-wasm` (~300-400 MB/s) where it does not load. Both
 * produce the same 32-byte digests; test/unit/hasher.test.ts proves it.
 *
 * package.json lists the platform binaries (`@napi-rs/blake-hash-linux-x64-gnu`, `-musl`) as
 * optional dependencies rather than the umbrella package, because the umbrella's lockfile entry
 * needs every platform's package to exist in the registry for `npm ci` to accept it.
 */
import { createRequire } from 'node:module';

export const HASH_BYTES = 32;

export interface IncrementalHash {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

interface Backend {
  name: 'native' | 'wasm';
  oneShot(data: Uint8Array): Buffer;
  incremental(): IncrementalHash;
}

const require = createRequire(import.meta.url);

type NativeHasher = { update(d: Uint8Array): unknown; digest(format: 'hex'): string; reset(): void };
type NativeModule = {
  blake3(input: Uint8Array): Buffer;
  Blake3Hasher: new () => NativeHasher;
};

function requireNative(): NativeModule {
  const candidates = ['@napi-rs/blake-hash', `@napi-rs/blake-hash-${process.platform}-${process.arch}-gnu`, `@napi-rs/blake-hash-${process.platform}-${process.arch}-musl`];
  let last: unknown;
  for (const name of candidates) {
    try {
      return require(name) as NativeModule;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

function loadNative(): Backend | undefined {
  try {
    const mod = requireNative();
    // Probe once: a broken binary should fall back, not fail on the first real file.
    mod.blake3(Buffer.alloc(0));
    // Hashers are reused, and digests taken as hex strings: every native hasher object and every
    // Buffer the binding returns holds native memory until V8 happens to finalise its wrapper,
    // which at a million small files grew the process by 0.3-2.6 GB (measured). A reused hasher
    // with a string digest keeps memory flat, and is faster.
    const one = new mod.Blake3Hasher();
    const free: NativeHasher[] = [];
    return {
      name: 'native',
      oneShot: (d) => {
        one.reset();
        one.update(d);
        return Buffer.from(one.digest('hex'), 'hex');
      },
      incremental: () => {
        const h = free.pop() ?? new mod.Blake3Hasher();
        h.reset();
        let done = false;
        return {
          update: (d) => void h.update(d),
          digest: () => {
            if (done) throw new Error('digest() called twice on one hash');
            done = true;
            const out = Buffer.from(h.digest('hex'), 'hex');
            if (free.length < 64) free.push(h); // back to the pool only once it is finished
            return out;
          },
        };
      },
    };
  } catch {
    // Any failure to load or run the binary (missing, wrong platform, broken) means the same:
    // use the WebAssembly build, which gives identical digests.
    return undefined;
  }
}

function loadWasm(): Backend {
  const mod = require('blake3-wasm') as {
    hash(input: Uint8Array): Buffer;
    createHash(): { update(d: Uint8Array): unknown; digest(): Buffer; dispose?(): void };
  };
  return {
    name: 'wasm',
    oneShot: (d) => Buffer.from(mod.hash(d)),
    incremental: () => {
      const h = mod.createHash();
      return {
        update: (d) => void h.update(d),
        digest: () => {
          const out = Buffer.from(h.digest());
          h.dispose?.();
          return out;
        },
      };
    },
  };
}

let backend: Backend | undefined;

function getBackend(): Backend {
  if (!backend) {
    const forced = process.env.LINKSNAP_HASHER;
    backend = forced === 'wasm' ? loadWasm() : (loadNative() ?? loadWasm());
  }
  return backend;
}

/** Which implementation is in use: 'native' or 'wasm' (LINKSNAP_HASHER=wasm forces the latter). */
export function hasherName(): 'native' | 'wasm' {
  return getBackend().name;
}

export function hashBytes(data: Uint8Array): Buffer {
  return getBackend().oneShot(data);
}

export function createHash(): IncrementalHash {
  return getBackend().incremental();
}

/** Test hook: use a specific backend regardless of what loads. */
export function _useBackendForTests(which: 'native' | 'wasm'): void {
  const b = which === 'wasm' ? loadWasm() : loadNative();
  if (!b) throw new Error(`hasher backend ${which} is not available`);
  backend = b;
}
