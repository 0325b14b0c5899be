/**
 * Turning a folder's chunks (folder-chunk.ts), in name order, into its tree record and its new
 * quick-check records, without ever holding more than one chunk of a big folder:
 *
 *   - while every chunk so far is unchanged and the records remember a digest, nothing is
 *     written: the chunk's part of the tree is exactly its old records, which can be read again;
 *   - a folder of one chunk is held and written at the end (its digest first: an existing tree
 *     is reused, not written twice);
 *   - as soon as a second chunk has to be written, the tree is streamed: a provisional tree row,
 *     entries and digest fed chunk by chunk (earlier unchanged ranges re-derived from their old
 *     records), new records staged, and at the end the digest given to the row — or the row
 *     dropped for an existing tree with that digest.
 */
import type { Catalog } from '../../catalog/catalog.js';
import { treeDigest, TreeDigester, type DigestInput } from '../shared/tree-digest.js';
import { xattrsField, type FolderResult, type Placed } from './walker.js';
import { Kind, type TreeTotals } from '../../model/entry.js';
import { digestToRemember, extraParts, readRecord, recordOffsets, recordsInRange, reusableDigest } from '../../model/quick-check.js';

/** A chunk's name range: [lo, hi), undefined = unbounded. */
export interface NameRange {
  lo: Buffer | undefined;
  hi: Buffer | undefined;
}

interface Stream {
  tree: number;
  digester: TreeDigester;
  /**
   * New records, one part per written chunk, staged in the catalog (a temporary table that
   * spills to disk) until the old ones are no longer read: held in memory, a million entries'
   * records were ~120 MB.
   */
  staged: number;
  /** Parts staged so far. */
  parts: number;
}

function addTotals(totals: TreeTotals, input: DigestInput & { totals?: TreeTotals }): void {
  if (input.entry.kind === Kind.File) {
    totals.files++;
    totals.bytes += input.entry.size;
  } else if (input.entry.kind === Kind.Dir) {
    const sub = input.totals!;
    totals.dirs += 1 + sub.dirs;
    totals.files += sub.files;
    totals.bytes += sub.bytes;
  }
}

export class TreeWriter {
  private readonly unchanged: NameRange[] = [];
  private held: Placed[] | undefined;
  private stream: Stream | undefined;
  private readonly totals: TreeTotals = { files: 0, dirs: 0, bytes: 0 };
  private entries = 0;
  private recorded = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly rel: Buffer,
    /** The digest the folder's records remember, when it had records. */
    private readonly remembered: Buffer | undefined,
  ) {}

  /** The next chunk, in name order: unchanged (its old records are its part) or its new entries. */
  add(range: NameRange, changed: boolean, entries: () => Placed[]): void {
    if (!this.stream && !this.held && !changed && this.remembered) {
      this.unchanged.push(range);
      return;
    }
    const placed = entries();
    if (!this.stream && !this.held && this.unchanged.length === 0) {
      this.held = placed;
      return;
    }
    this.startStream();
    this.write(placed);
  }

  finish(): FolderResult {
    if (!this.stream && !this.held) {
      const digest = reusableDigest(this.remembered ?? Buffer.alloc(0));
      // Every chunk as recorded: so is the tree, when the records remember it.
      const known = digest && this.catalog.findTreeWithTotals(digest);
      if (known) return { tree: known.id, digest: digest!, totals: known.totals };
      if (this.unchanged.length <= 1) this.held = this.unchanged.length === 1 ? this.fromRecords(this.unchanged.pop()!) : [];
      else this.startStream();
    }
    if (this.held && !this.stream) return this.writeHeld(this.held);
    const s = this.stream!;
    const digest = s.digester.digest();
    const tree = this.catalog.finishProvisionalTree(s.tree, digest, this.totals);
    this.catalog.commitStagedQuickCheck(s.staged, this.rel, digestToRemember(digest, this.entries, this.recorded), s.parts);
    return { tree, digest, totals: { ...this.totals } };
  }

  /** A folder of one chunk: digest first, so an existing tree is found rather than written. */
  private writeHeld(all: Placed[]): FolderResult {
    for (const p of all) addTotals(this.totals, p.input);
    const inputs = all.map((p) => p.input);
    const digest = treeDigest(inputs);
    const tree = this.catalog.putTree(
      digest,
      this.totals,
      inputs.map((i) => i.entry),
    );
    const records = all.flatMap((p) => (p.record ? [p.record] : []));
    this.catalog.putQuickCheck(this.rel, digestToRemember(digest, all.length, records.length), [Buffer.concat(records)]);
    return { tree, digest, totals: { ...this.totals } };
  }

  private startStream(): void {
    if (this.stream) return;
    this.stream = { tree: this.catalog.startProvisionalTree(), digester: new TreeDigester(), staged: this.catalog.startStagedQuickCheck(), parts: 0 };
    for (const range of this.unchanged.splice(0)) this.write(this.fromRecords(range));
    const held = this.held;
    this.held = undefined;
    if (held) this.write(held);
  }

  private write(placed: Placed[]): void {
    const s = this.stream!;
    const inputs = placed.map((p) => p.input);
    for (const input of inputs) addTotals(this.totals, input);
    s.digester.add(inputs);
    this.catalog.addEntries(
      s.tree,
      inputs.map((i) => i.entry),
    );
    const records = placed.flatMap((p) => (p.record ? [p.record] : []));
    if (records.length > 0) this.catalog.stageQuickCheckPart(s.staged, s.parts++, Buffer.concat(records));
    this.entries += placed.length;
    this.recorded += records.length;
  }

  /** An unchanged range's part of the tree, from its old records (each entry has one). */
  private fromRecords(range: NameRange): Placed[] {
    const buf = recordsInRange(this.catalog.quickCheckParts(this.rel, range.lo, range.hi), range.lo, range.hi);
    const offs = recordOffsets(buf);
    const out: Placed[] = [];
    for (let i = 0; i + 1 < offs.length; i++) {
      const r = readRecord(buf, offs[i]!);
      const meta = { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
      const record = Buffer.from(buf.subarray(offs[i]!, offs[i + 1]!));
      const { id, xattrs } = extraParts(Buffer.from(r.extra));
      if (r.kind === Kind.File) {
        out.push({ input: { entry: { name: Buffer.from(r.name), kind: Kind.File, ...meta, size: Number(r.size), hash: id, ...xattrsField(xattrs) } }, record });
      } else if (r.kind === Kind.Symlink) {
        out.push({ input: { entry: { name: Buffer.from(r.name), kind: Kind.Symlink, ...meta, size: r.extra.length, target: Buffer.from(r.extra) } }, record });
      } else {
        const sub = this.catalog.findTreeWithTotals(id);
        // An unchanged subfolder was walked in this take: its tree exists.
        if (!sub) throw new Error(`the tree of the unchanged folder ${r.name.toString()} is missing from the catalog`);
        out.push({ input: { entry: { name: Buffer.from(r.name), kind: Kind.Dir, ...meta, size: 0, subtree: sub.id, ...xattrsField(xattrs) }, childDigest: id, totals: sub.totals }, record });
      }
    }
    return out;
  }
}
