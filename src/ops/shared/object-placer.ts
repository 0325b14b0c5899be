/**
 * Making sure an inode exists in .snap/objects and hard-linking it into a folder being built.
 * Shared by take (new content from the source) and materialize/repair (content from the store).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import type { Catalog } from '../../catalog/catalog.js';
import { objectKeyString, objectPath, quarantineName } from '../../store/layout.js';
import { type ObjectKey } from '../../model/object-key.js';
import { NotARegularFile, applyInodeMeta, copyToTmp, hashStoredFile, publish, writeTmpFile } from '../../store/blobfile.js';
import { objectInodeHolds, objectXattrsHold } from '../../store/object-check.js';
import { decodeXattrs, xattrDigestOf, type Xattr } from '../../model/xattrs.js';
import { ErrnoError, SnapError, errnoCode, isFsError } from '../../errors.js';
import { faultPoint } from '../../util/fault.js';
import { markDirty } from './dirty.js';
import { lexists, lstatOrUndefined } from '../../util/fs.js';

export interface ContentSource {
  /** The whole content in memory (small files). */
  data?: Buffer;
  /** A tmp file under .snap/tmp holding the content; consumed (moved or removed). */
  tmpPath?: string;
}

export class ObjectMissing extends SnapError {
  constructor(readonly key: ObjectKey, p: string) {
    super('IO', `stored object ${p} is missing`, { hint: 'run `snap verify --repair`' });
  }
}

/** An object is no longer what its name says (size, metadata or, when checked, content). */
export class ObjectDamaged extends SnapError {
  constructor(readonly key: ObjectKey, p: string) {
    super('IO', `stored object ${p} is damaged (it no longer matches its name)`, { hint: 'run `snap verify --repair`' });
  }
}

/**
 * Test seam: pretend the file system allows only this many links per inode, so the EMLINK
 * replica path runs in a fast test (ext4's real limit of 65,000 is tested behind
 * LINKSNAP_SLOW_TESTS). 0 = off.
 */
const TEST_LINK_LIMIT = Number(process.env.LINKSNAP_TEST_LINK_LIMIT ?? 0);

const testLinkCounts = new Map<string, number>();

/** True when the simulated link limit is on: only this module's link() can honour it. */
export function testLinkLimitActive(): boolean {
  return TEST_LINK_LIMIT > 0;
}

async function linkWithLimit(p: string, dest: Buffer | string): Promise<void> {
  if (TEST_LINK_LIMIT > 0) {
    // Count synchronously, as the kernel checks atomically: concurrent links must not all pass.
    if (!testLinkCounts.has(p)) {
      const nlink = Number(lstatOrUndefined(p)?.nlink ?? 0n);
      if (!testLinkCounts.has(p)) testLinkCounts.set(p, nlink);
    }
    const n = testLinkCounts.get(p)!;
    if (n >= TEST_LINK_LIMIT) throw new ErrnoError('EMLINK', `EMLINK (test limit ${TEST_LINK_LIMIT})`, p);
    testLinkCounts.set(p, n + 1);
  }
  await fsp.link(p, dest);
}

/**
 * How a caller makes the objects it publishes durable. Take notes each new object and flushes
 * them, or the file system, before its commit (ops/take/take-durability.ts); the others
 * (materialize, repair, pull) flush the whole file system once, and pass nothing.
 */
export interface PublishDurability {
  /** Called with the finished tmp file of `size` bytes just before it is published under `objPath`. */
  beforePublish(tmp: string, objPath: string, size: number): Promise<void>;
}

/**
 * The attribute set with this digest, from the catalog (take records each set before anything
 * uses it); none for no digest. A set the catalog lacks or that does not match its digest is a
 * damaged catalog.
 */
export function recordedXattrs(catalog: Catalog, digest: Buffer | undefined): Xattr[] {
  if (!digest || digest.length === 0) return [];
  const data = catalog.xattrSet(digest);
  const set = data && decodeXattrs(data);
  if (!set || !xattrDigestOf(data).equals(digest)) {
    throw new SnapError('CATALOG', `the catalog lacks the extended attribute set ${digest.toString('hex').slice(0, 16)}… it refers to`, { hint: 'run `snap verify <root>`' });
  }
  return set;
}

export class ObjectPlacer {
  private readonly inflight = new Map<string, Promise<void>>();
  /** The replica to link to next, per key, once the first one reached the link limit. */
  private readonly replicaHint = new Map<string, number>();
  private readonly replicaLocks = new Map<string, Promise<unknown>>();
  newObjects = 0;
  newBytes = 0;
  /** take --xattrs: every linked object's attributes are checked, also of objects named without any. */
  checkXattrs = false;
  /** `verifyContent` (take --checksum): an existing object's bytes are hashed before it is used. */
  constructor(
    private readonly root: Root,
    private readonly verifyContent = false,
    private readonly durability?: PublishDurability,
  ) {}

  private async discard(src: ContentSource): Promise<void> {
    if (src.tmpPath) await fsp.rm(src.tmpPath, { force: true });
  }

  /**
   * Make sure the object for `key` exists, creating it from `src` when the catalog does not
   * know it. `force` re-creates an object the catalog knows but whose file is gone (repair).
   * With verifyContent, a known object whose bytes no longer hash to its name is moved aside
   * and replaced from `src`: then this returns true.
   */
  async ensure(key: ObjectKey, size: number, src: ContentSource, force = false): Promise<boolean> {
    const ks = objectKeyString(key);
    const pending = this.inflight.get(ks);
    if (pending) {
      await pending;
      await this.discard(src);
      return false;
    }
    const known = this.root.catalog.getObject(key) !== undefined;
    let damaged = false;
    if (known && !force) {
      if (!this.verifyContent || (await this.contentHolds(key, size))) {
        await this.discard(src);
        return false;
      }
      this.quarantine(key);
      damaged = force = true;
    }
    const work = this.create(key, size, src, known, force);
    this.inflight.set(ks, work);
    try {
      await work;
    } finally {
      this.inflight.delete(ks);
    }
    return damaged;
  }

  private async create(key: ObjectKey, size: number, src: ContentSource, known: boolean, force: boolean): Promise<void> {
    const { layout, asRoot } = this.root;
    const tmp = src.tmpPath ?? (await writeTmpFile(layout.tmp, src.data ?? Buffer.alloc(0)));
    try {
      await applyInodeMeta(tmp, key, asRoot, recordedXattrs(this.root.catalog, key.xattrs));
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await markDirty(this.root);
    await this.durability?.beforePublish(tmp, objectPath(layout, key), size);
    // An existing object file is complete: either known, or published by this run (see
    // dirty.ts). Only a forced re-creation (repair, pull) replaces a damaged one.
    const outcome = await publish(tmp, objectPath(layout, key), force);
    faultPoint('object:published');
    if (outcome === 'exists' && force) throw new SnapError('IO', `could not publish object ${objectPath(layout, key)}`);
    if (!known && this.root.catalog.ensureObject(key, size) && outcome === 'published') {
      this.newObjects++;
      this.newBytes += size;
    }
  }

  /** The object's bytes still hash to its name (a missing object counts as not holding). */
  private async contentHolds(key: ObjectKey, size: number): Promise<boolean> {
    try {
      const h = await hashStoredFile(objectPath(this.root.layout, key));
      return h.size === size && h.hash.equals(key.hash);
    } catch (e) {
      if (isFsError(e) || e instanceof NotARegularFile) return false;
      throw e;
    }
  }

  /**
   * Move a damaged object (every replica) out of the store's name space, into .snap/trash: it is
   * never reused, and a fresh copy can take its name. Snapshots that link the damaged inode keep
   * it until `verify --repair` re-links them.
   */
  quarantine(key: ObjectKey): void {
    const { layout } = this.root;
    for (let r = 0; r < (this.root.catalog.getObject(key)?.replicas ?? 1); r++) {
      const p = objectPath(layout, key, r);
      try {
        fs.renameSync(p, quarantineName(layout.trash, path.basename(p)));
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    this.replicaHint.delete(objectKeyString(key));
  }

  /**
   * Hard-link the object into `dest`, checking the linked inode still is what the object's name
   * says (ObjectDamaged when not; nothing stays linked). When the inode is at the file system's
   * link limit (EMLINK), link to the next replica, creating it (a copy, or a reflink clone) if needed.
   */
  async link(key: ObjectKey, dest: Buffer | string): Promise<void> {
    const ks = objectKeyString(key);
    let replica = this.replicaHint.get(ks) ?? 0;
    for (;;) {
      const p = objectPath(this.root.layout, key, replica);
      try {
        await linkWithLimit(p, dest);
        faultPoint('object:linked');
        const size = this.root.catalog.getObject(key)?.size;
        const st = fs.lstatSync(dest, { bigint: true });
        const checkXattrs = this.checkXattrs || key.xattrs !== undefined;
        if (size !== undefined && (!objectInodeHolds(st, key, size, this.root.asRoot) || (checkXattrs && !objectXattrsHold(p, st, key, this.root.asRoot)))) {
          fs.unlinkSync(dest);
          throw new ObjectDamaged(key, p);
        }
        return;
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT') {
          // Either the object or the destination folder is missing; only the former is ours.
          if (!lexists(p)) throw new ObjectMissing(key, p);
          throw e;
        }
        if (code !== 'EMLINK') throw e;
        replica = await this.nextReplica(key, ks, replica);
      }
    }
  }

  private async nextReplica(key: ObjectKey, ks: string, full: number): Promise<number> {
    // Serialise per key so concurrent links that all hit EMLINK create one replica, not many.
    const prev = this.replicaLocks.get(ks) ?? Promise.resolve();
    const next = prev.then(async () => {
      const hint = this.replicaHint.get(ks) ?? 0;
      if (hint > full) return hint; // someone already moved on
      const row = this.root.catalog.getObject(key);
      const replicas = row?.replicas ?? 1;
      const target = full + 1;
      if (target >= replicas) {
        const { layout, asRoot } = this.root;
        const tmp = await copyToTmp(objectPath(layout, key, 0), layout.tmp);
        await applyInodeMeta(tmp, key, asRoot, recordedXattrs(this.root.catalog, key.xattrs));
        await markDirty(this.root);
        await this.durability?.beforePublish(tmp, objectPath(layout, key, target), row?.size ?? 0);
        await publish(tmp, objectPath(layout, key, target), true);
        this.root.catalog.setReplicas(key, target + 1);
      }
      this.replicaHint.set(ks, target);
      return target;
    });
    this.replicaLocks.set(ks, next.catch(() => undefined));
    return next;
  }
}
