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
import { checkPolicy, type RetentionPolicy } from '../retention/policy.js';
import { POLICY_KEYS, effectivePolicy, knownKeysHint, parseCount, type PolicySource } from '../retention/saved-policy.js';

import { LATEST } from '../../store/layout.js';
import { SnapError } from '../../errors.js';

export { POLICY_KEYS, type PolicySource };

export interface ConfigResult {
  /** Every saved setting, by key. */
  settings: Record<string, string>;
  /** The policy `snap take` (without --keep) and `snap prune` (without options) apply. */
  policy: RetentionPolicy;
  policySource: Exclude<PolicySource, 'options'>;
  /** Keys this call set or removed. */
  changed: string[];
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
