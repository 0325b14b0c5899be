/**
 * `snap config`: settings saved in the root's catalog (table `config`). Today these are the
 * retention policy keys (`keep.last`, `keep.daily`, ...), so that the cron line can stay
 * `snap take <root>` and still apply a calendar policy. See docs/retention.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../catalog/catalog.js';
import { openRoot, withLockedRoot } from '../shared/root.js';
import { recover } from '../shared/recover.js';
import { DEFAULT_POLICY, RULES, checkPolicy, isEmptyPolicy, type RetentionPolicy, type Rule } from '../retention/policy.js';
import { LATEST } from '../../store/layout.js';
import { SnapError } from '../../errors.js';

/** Saved key -> policy rule. */
export const POLICY_KEYS: Readonly<Record<string, Rule>> = Object.freeze(Object.fromEntries(RULES.map((r) => [`keep.${r}`, r])));

export type PolicySource = 'options' | 'saved' | 'default';

export interface ConfigResult {
  /** Every saved setting, by key. */
  settings: Record<string, string>;
  /** The policy `snap take` (without --keep) and `snap prune` (without options) apply. */
  policy: RetentionPolicy;
  policySource: Exclude<PolicySource, 'options'>;
  /** Keys this call set or removed. */
  changed: string[];
}

function knownKeysHint(): string {
  return `known keys: ${Object.keys(POLICY_KEYS).join(', ')}`;
}

function parseCount(key: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new SnapError('USAGE', `${key} must be a positive integer, got '${value}'`, { hint: `to remove a rule: snap config <root> --unset ${key}` });
  }
  return Number(value);
}

/** The saved policy, or undefined when no keep.* key is saved. */
export function savedPolicy(catalog: Catalog): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {};
  for (const [key, value] of catalog.getConfig()) {
    const rule = POLICY_KEYS[key];
    if (!rule) continue;
    try {
      policy[rule] = parseCount(key, value);
    } catch {
      throw new SnapError('CATALOG', `the saved setting ${key}=${JSON.stringify(value)} is not a positive integer`, {
        hint: `fix it: snap config <root> ${key}=<n>  (or --unset ${key})`,
      });
    }
  }
  return isEmptyPolicy(policy) ? undefined : policy;
}

/** What applies when no policy is given on the command line: the saved one, else keep-last 16. */
export function effectivePolicy(catalog: Catalog): { policy: RetentionPolicy; source: 'saved' | 'default' } {
  const saved = savedPolicy(catalog);
  return saved ? { policy: saved, source: 'saved' } : { policy: { ...DEFAULT_POLICY }, source: 'default' };
}

function describe(catalog: Catalog, changed: string[]): ConfigResult {
  const { policy, source } = effectivePolicy(catalog);
  return { settings: Object.fromEntries(catalog.getConfig()), policy, policySource: source, changed };
}

/** Read the settings without taking the lock. */
export function readConfig(rootArg: string): ConfigResult {
  const root = openRoot(rootArg, { readonly: true });
  try {
    return describe(root.catalog, []);
  } finally {
    root.close();
  }
}

export interface ConfigChange {
  set?: readonly { key: string; value: string }[];
  unset?: readonly string[];
  waitMs?: number;
}

/** Set and unset keys in one transaction; every key and value is checked before anything changes. */
export async function writeConfig(rootArg: string, change: ConfigChange): Promise<ConfigResult> {
  const set = change.set ?? [];
  const unset = change.unset ?? [];
  for (const key of [...set.map((s) => s.key), ...unset]) {
    if (!POLICY_KEYS[key]) throw new SnapError('USAGE', `unknown setting '${key}'`, { hint: knownKeysHint() });
  }
  const policy: RetentionPolicy = {};
  for (const { key, value } of set) policy[POLICY_KEYS[key]!] = parseCount(key, value);
  checkPolicy(policy);
  const both = set.map((s) => s.key).filter((k) => unset.includes(k));
  if (both.length) throw new SnapError('USAGE', `${both[0]} is both set and unset`);

  // A policy may be saved before the first take, but only in a folder that is a backup root.
  const create = fs.existsSync(path.join(rootArg, LATEST));
  return withLockedRoot(rootArg, 'config', { waitMs: change.waitMs, create }, async (root) => {
    await recover(root);
    const { catalog } = root;
    catalog.transaction(() => {
      for (const { key, value } of set) catalog.setConfig(key, String(Number(value)));
      for (const key of unset) catalog.setConfig(key, undefined);
    });
    return describe(catalog, [...set.map((s) => s.key), ...unset]);
  });
}
