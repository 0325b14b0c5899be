/** Structured clone (worker messages) turns Buffers into Uint8Arrays: view one as a Buffer again, without a copy. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
