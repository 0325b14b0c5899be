/**
 * How a replica's objects are named and stored: as they are (a plain replica), or sealed under
 * its master key (an encrypted one). push, pull and verify go through a ReplicaCodec and do not
 * otherwise care which kind of replica they work on.
 *
 * Encrypted: a blob's name is HMAC-SHA256(names key, BLAKE3 of the content): the same content
 * gets the same name under one key (pushes still upload only what is missing), while the name
 * cannot be matched against a known file's BLAKE3 without the key. Blob contents, catalogs and
 * HEAD are sealed with sealed-stream.ts, each bound to what it is (the blob's name, the
 * catalog's generation, HEAD).
 */
import { createHmac, type BinaryLike } from 'node:crypto';
import type { Transform } from 'node:stream';
import { headEnvelope, parseHead, ENCRYPTED_REPLICA_VERSION, REPLICA_VERSION, type ReplicaHead } from './layout.js';
import { openBuffer, openStream, sealBuffer, sealedSize, sealStream } from './sealed-stream.js';
import { purposeKeys, type PurposeKeys } from './keys.js';

/** How an object is sealed on its way up; undefined for a plain replica. */
export interface Sealing {
  buffer(plain: Buffer): Buffer;
  stream(): Transform;
}

/** A fresh opening Transform per download attempt; undefined for a plain replica. */
export type Opening = () => Transform;

export interface ReplicaCodec {
  readonly encrypted: boolean;
  /** Names the local rollback state of an encrypted replica. */
  readonly stateId: string | undefined;
  /** The name under blobs/ of the content with this BLAKE3 hex. */
  blobName(hex: string): string;
  /** Stored size of an object of `plainSize` bytes. */
  storedSize(plainSize: number): number;
  sealBlob(name: string): Sealing | undefined;
  openBlob(name: string, what: string): Opening | undefined;
  sealCatalog(generation: string): Sealing | undefined;
  openCatalog(generation: string, what: string): Opening | undefined;
  /** The bytes of the HEAD object for `head`. */
  encodeHead(head: ReplicaHead): Buffer;
}

export const plainCodec: ReplicaCodec = {
  encrypted: false,
  stateId: undefined,
  blobName: (hex) => hex,
  storedSize: (n) => n,
  sealBlob: () => undefined,
  openBlob: () => undefined,
  sealCatalog: () => undefined,
  openCatalog: () => undefined,
  encodeHead: (head) => Buffer.from(JSON.stringify({ ...head, version: REPLICA_VERSION }, null, 2) + '\n'),
};

const HEAD_BINDING = 'linksnap-replica HEAD';
const blobBinding = (name: string) => `linksnap-replica blob ${name}`;
const catalogBinding = (generation: string) => `linksnap-replica catalog ${generation}`;

function sealing(key: Buffer, binding: string): Sealing {
  return { buffer: (plain) => sealBuffer(key, binding, plain), stream: () => sealStream(key, binding) };
}

export class EncryptedCodec implements ReplicaCodec {
  readonly encrypted = true;
  private readonly keys: PurposeKeys;

  constructor(master: Buffer) {
    this.keys = purposeKeys(master);
  }

  get stateId(): string {
    return this.keys.stateId;
  }

  blobName(hex: string): string {
    return createHmac('sha256', this.keys.names).update(Buffer.from(hex, 'hex') as BinaryLike).digest('hex');
  }

  storedSize(n: number): number {
    return sealedSize(n);
  }

  sealBlob(name: string): Sealing {
    return sealing(this.keys.content, blobBinding(name));
  }

  openBlob(name: string, what: string): Opening {
    return () => openStream(this.keys.content, blobBinding(name), what);
  }

  sealCatalog(generation: string): Sealing {
    return sealing(this.keys.catalog, catalogBinding(generation));
  }

  openCatalog(generation: string, what: string): Opening {
    return () => openStream(this.keys.catalog, catalogBinding(generation), what);
  }

  encodeHead(head: ReplicaHead): Buffer {
    const inner = Buffer.from(JSON.stringify({ ...head, version: ENCRYPTED_REPLICA_VERSION }));
    return headEnvelope(sealBuffer(this.keys.head, HEAD_BINDING, inner));
  }

  /** The pointer inside a sealed HEAD; AuthFailure when it was altered or sealed by another key. */
  async openHead(sealed: Buffer, where: string): Promise<ReplicaHead> {
    const inner = await openBuffer(this.keys.head, HEAD_BINDING, where, sealed);
    return parseHead(inner.toString('utf8'), where, ENCRYPTED_REPLICA_VERSION);
  }
}
