/**
 * Model-based test of retention and gc. A model holds the source tree at every take, the live
 * snapshots (with pins) and the saved policy; random command sequences mutate the source, take
 * (with and without --keep), prune with random policies (also --dry-run), save or clear a
 * policy, pin/unpin, gc, delete a dated folder (then materialize it) and materialize. After
 * every step:
 *   1. each live snapshot's folder equals the source tree at its take (content and metadata);
 *   2. `snap verify` (full) finds no damage, and an independent structural check agrees;
 *   3. after gc, prune and take (whose rotation gc's incrementally): .snap/objects holds exactly one object per distinct
 *      (content, mode, owner, mtime) of the live snapshots, plus link-limit replicas;
 *   4. what take's rotation and prune remove equals the reference implementation of the policy;
 *   5. a take without --allow-shrink of a source the shrink guard refuses (as the reference rule
 *      says) stores nothing and leaves exactly the live objects.
 * LINKSNAP_PROPERTY_RUNS raises the number of sequences (default 12, about 30 s here).
 */
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree, type TreeInfo } from '../helpers/tree.js';
import { applyMutation, mutationArb, type Mutation } from '../helpers/mutate.js';
import { referenceKeep, type RefPolicy, type RefSnapshot } from '../helpers/retention-reference.js';
import { neededObjectFiles, objectDirListing, storeProblems } from '../helpers/store-check.js';
import { referenceRefuses, treeTotals } from '../helpers/shrink-reference.js';

// Names are local time: UTC keeps the model's clock free of DST repeats (the engine's DST and
// time-zone behaviour is covered by test/retention/policy.test.ts).
process.env.TZ = 'UTC';
process.env.LINKSNAP_NO_SYNC = '1';
// A tiny link limit, so unchanged files shared by a few snapshots need EMLINK replicas.
process.env.LINKSNAP_TEST_LINK_LIMIT = '5';
const { take } = await import('../../src/ops/take/take.js');
const { prune } = await import('../../src/ops/retention/prune.js');
const { gc } = await import('../../src/ops/retention/gc.js');
const { setPinned } = await import('../../src/ops/retention/pin.js');
const { writeConfig } = await import('../../src/ops/setup/config.js');
const { listSnapshots } = await import('../../src/ops/browse/list.js');
const { verify } = await import('../../src/ops/verify/verify.js');
const { materialize } = await import('../../src/ops/verify/materialize.js');
const { parseObjectName } = await import('../../src/store/layout.js');

const RUNS = Number(process.env.LINKSNAP_PROPERTY_RUNS ?? 30);

const policyArb: fc.Arbitrary<RefPolicy> = fc.record(
  {
    last: fc.integer({ min: 1, max: 4 }),
    hourly: fc.integer({ min: 1, max: 3 }),
    daily: fc.integer({ min: 1, max: 3 }),
    weekly: fc.integer({ min: 1, max: 3 }),
    monthly: fc.integer({ min: 1, max: 3 }),
    yearly: fc.integer({ min: 1, max: 2 }),
  },
  { requiredKeys: [] },
);

type Cmd =
  | { k: 'mutate'; ms: Mutation[] }
  | { k: 'take'; advanceS: number; keep: number | undefined; allowShrink: boolean }
  | { k: 'prune'; policy: RefPolicy; dryRun: boolean }
  | { k: 'config'; policy: RefPolicy | null }
  | { k: 'pin'; idx: number; pinned: boolean }
  | { k: 'gc' }
  | { k: 'deleteFolder'; idx: number }
  | { k: 'materialize'; all: boolean };

const advanceArb = fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 3600, max: 2 * 86400 }), fc.integer({ min: 86400, max: 40 * 86400 }));

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((ms) => ({ k: 'mutate' as const, ms })) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('take' as const), advanceS: advanceArb, keep: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }), allowShrink: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('prune' as const), policy: policyArb, dryRun: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('config' as const), policy: fc.option(policyArb, { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('pin' as const), idx: fc.nat(), pinned: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'gc' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deleteFolder' as const), idx: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('materialize' as const), all: fc.boolean() }) },
);

const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const toPolicy = (p: RefPolicy) => Object.fromEntries(RULES.filter((r) => p[r] !== undefined).map((r) => [r, p[r]]));

class Model {
  snaps: RefSnapshot[] = []; // live, oldest first
  trees = new Map<string, TreeInfo>();
  saved: RefPolicy | null = null;

  /** Apply a policy; returns the names it removes, oldest first. */
  apply(policy: RefPolicy): string[] {
    const keep = referenceKeep(this.snaps, policy);
    const gone = this.snaps.filter((s) => !keep.has(s.name)).map((s) => s.name);
    this.snaps = this.snaps.filter((s) => keep.has(s.name));
    return gone;
  }
}

/** (sha256 of content, mode, uid, gid, mtime µs) of every file of every live snapshot in the model. */
function modelObjectKeys(m: Model): Set<string> {
  const keys = new Set<string>();
  for (const s of m.snaps) {
    for (const info of m.trees.get(s.name)!.values()) {
      if (info.kind === 'file') keys.add(`${info.sha}|${info.mode}|${info.uid}|${info.gid}|${info.mtimeUs}`);
    }
  }
  return keys;
}

/** Property 3: the object directory holds exactly the model's objects, each once, plus replicas. */
function checkObjects(root: string, m: Model): void {
  const files = objectDirListing(root);
  const primary: string[] = [];
  for (const rel of files) {
    const parsed = parseObjectName(path.basename(rel));
    expect(parsed, `unexpected file .snap/objects/${rel}`).toBeDefined();
    const { key, replica } = parsed!;
    const sha = crypto.createHash('sha256').update(fs.readFileSync(path.join(root, '.snap/objects', rel))).digest('hex');
    const k = `${sha}|${key.mode}|${key.uid}|${key.gid}|${key.mtimeUs}`;
    if (replica === 0) primary.push(k);
    else expect(files).toContain(rel.replace(/_r\d+$/, '')); // a replica only beside its object
  }
  expect(new Set(primary).size).toBe(primary.length); // no (content, metadata) stored twice
  expect(new Set(primary)).toEqual(modelObjectKeys(m));
  expect(files).toEqual(neededObjectFiles(root)); // and the catalog's replica counts agree
}

async function checkState(root: string, m: Model): Promise<void> {
  const names = m.snaps.map((s) => s.name);
  expect(listSnapshots(root).map((s) => [s.name, s.pinned])).toEqual(m.snaps.map((s) => [s.name, s.pinned]));
  expect(fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n)).sort()).toEqual([...names].sort());
  for (const n of names) expect(diffTrees(m.trees.get(n)!, readTree(path.join(root, n))), n).toEqual([]);
  const v = await verify(root);
  expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
  expect(v.damaged).toBe(false);
  expect(storeProblems(root)).toEqual([]);
}

async function run(cmds: Cmd[]): Promise<void> {
  const { root, latest } = newRoot();
  const m = new Model();
  let t = Date.UTC(2026, 0, 1);
  // A small starting tree, so that snapshots share and differ in objects from the start.
  const seed: Mutation[] = [
    { op: 'write', path: [0], content: 2 },
    { op: 'write', path: [1], content: 3 },
    { op: 'mkdir', path: [3] },
    { op: 'write', path: [3, 0], content: 5 },
    { op: 'write', path: [3, 2], content: 1 },
    { op: 'symlink', path: [4], target: 0 },
  ];
  for (const mu of seed) applyMutation(latest, mu);
  try {
    // Every sequence starts with a take: the other commands need a store.
    for (const c of [{ k: 'take', advanceS: 1, keep: undefined, allowShrink: false } as Cmd, ...cmds]) {
      switch (c.k) {
        case 'mutate':
          for (const mu of c.ms) applyMutation(latest, mu);
          continue; // nothing in the store changed
        case 'take': {
          t += c.advanceS * 1000;
          const src = readTree(latest);
          const last = m.snaps.at(-1);
          const opts = { now: () => new Date(t), keep: c.keep, racyWindowMs: 0, allowShrink: c.allowShrink };
          if (!c.allowShrink && referenceRefuses(last && treeTotals(m.trees.get(last.name)!), treeTotals(src))) {
            await expect(take(root, opts)).rejects.toMatchObject({ code: 'SOURCE_SHRANK' });
            checkObjects(root, m); // whatever the refused take published is gone again
            break;
          }
          const r = await take(root, opts);
          m.trees.set(r.snapshot, src);
          m.snaps.push({ name: r.snapshot, takenNs: BigInt(t) * 1_000_000n, pinned: false, files: treeTotals(src).files });
          const policy = c.keep !== undefined ? { last: c.keep } : (m.saved ?? { last: 16 });
          expect(r.rotated).toEqual(m.apply(policy));
          checkObjects(root, m); // the rotation's incremental gc left exactly the live objects
          break;
        }
        case 'prune': {
          const r = await prune(root, { policy: toPolicy(c.policy), dryRun: c.dryRun });
          if (c.dryRun) {
            const keep = referenceKeep(m.snaps, c.policy);
            expect(r.removed).toEqual(m.snaps.filter((s) => !keep.has(s.name)).map((s) => s.name));
          } else {
            expect(r.removed).toEqual(m.apply(c.policy));
            checkObjects(root, m);
          }
          expect(r.kept.map((k) => k.name)).toEqual([...referenceKeep(m.snaps, c.policy)].sort((a, b) => names(m).indexOf(a) - names(m).indexOf(b)));
          break;
        }
        case 'config': {
          if (c.policy) {
            const set = Object.entries(c.policy).map(([r, n]) => ({ key: `keep.${r}`, value: String(n) }));
            const unset = RULES.filter((r) => c.policy![r] === undefined).map((r) => `keep.${r}`);
            await writeConfig(root, { set, unset });
            m.saved = Object.keys(c.policy).length ? c.policy : null;
          } else {
            await writeConfig(root, { unset: RULES.map((r) => `keep.${r}`) });
            m.saved = null;
          }
          break;
        }
        case 'pin': {
          if (m.snaps.length === 0) continue;
          const s = m.snaps[c.idx % m.snaps.length]!;
          await setPinned(root, [s.name], c.pinned);
          s.pinned = c.pinned;
          break;
        }
        case 'gc': {
          await gc(root);
          checkObjects(root, m);
          break;
        }
        case 'deleteFolder': {
          if (m.snaps.length === 0) continue;
          const s = m.snaps[c.idx % m.snaps.length]!;
          fs.rmSync(path.join(root, s.name), { recursive: true, force: true });
          const v = await verify(root);
          expect(v.findings.filter((f) => f.severity === 'damage').map((f) => [f.kind, f.snapshots])).toEqual([['folder-missing', [s.name]]]);
          const r = await materialize(root);
          expect(r.snapshots.map((x) => x.name)).toEqual([s.name]);
          break;
        }
        case 'materialize': {
          const r = await materialize(root, { all: c.all });
          expect(r.snapshots.map((x) => x.name)).toEqual(c.all ? names(m) : []);
          break;
        }
      }
      await checkState(root, m);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const names = (m: Model) => m.snaps.map((s) => s.name);

describe('retention and gc: model-checked command sequences', () => {
  it('live folders match the model, verify is clean, gc leaves exactly the live objects, prune matches the reference', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 15, maxLength: 40 }), async (cmds) => run(cmds)),
      { numRuns: RUNS },
    );
  }, 600_000);
});
